//! The config loader: any bytes as a config file are parsed and validated exactly as
//! `switchyard --config` does (`Config::parse` then `Config::validate`): an error naming the key or
//! a valid config, never a panic; a valid config printed as TOML reads back as the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::parse(text) else { return };
    if config.validate().is_ok() {
        // A valid config prints and reads back as the same settings.
        let printed = toml::to_string(&config).expect("a valid config serialises");
        let again = Config::parse(&printed).expect("a printed config parses");
        assert_eq!(again, config, "a printed valid config reads back differently:\n{printed}");
        assert!(again.validate().is_ok(), "a printed valid config no longer validates:\n{printed}");
    }
});
