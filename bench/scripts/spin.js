// A hostile neighbour (bench/load.sh --scenario hostile): it never yields; the CPU slice stops it.
export default () => { for (;;) {} };
