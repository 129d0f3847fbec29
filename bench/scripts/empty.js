// The runtime's floor (bench/load.sh --scenario empty): a script that does nothing.
export default () => 1;
