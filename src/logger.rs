//! A small `log` backend that writes to stderr with the program-name prefix, so that stdout
//! carries only the requested output.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Other crates' debug records (ureq's) are left out: their content is not checked
        // for secrets, and this crate logs the HTTP details that `-vv` promises itself.
        let own = metadata.target().starts_with("posos_token");
        metadata.level() <= log::max_level() && (own || metadata.level() <= Level::Warn)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let prefix = match record.level() {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info | Level::Debug | Level::Trace => "",
        };
        // A failed write to stderr has nowhere to be reported.
        let _ = writeln!(
            std::io::stderr().lock(),
            "posos-token: {prefix}{}",
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the logger. `verbosity` counts `-v` flags; `quiet` hides warnings.
pub fn init(verbosity: u8, quiet: bool) {
    let level = match (quiet, verbosity) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, _) => LevelFilter::Debug,
    };
    // Installing twice fails harmlessly; only the first call in a process counts.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
