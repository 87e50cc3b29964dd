//! Exit codes, one per class of failure, so that scripts can tell a broken key from a network
//! outage without parsing messages. The numbers follow BSD's `sysexits.h` where a class matches.

use std::process;

/// The class of an outcome, and the process exit status it maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// The requested output was printed.
    Success,
    /// A subcommand failed: `doctor` found a failed step, or `cache clear` could not remove a
    /// file.
    Failure,
    /// The command line is invalid. clap reports these itself with this status.
    Usage,
    /// The input is not in the expected format (`inspect` was given something other than a JWT).
    DataError,
    /// Writing the output failed (other than the reader closing the pipe, which ends quietly).
    Output,
    /// A temporary failure: connection refused or reset, timeout, HTTP 5xx or 429.
    Temporary,
    /// The server returned something unexpected: not JSON, an HTML page, no `id_token`.
    Protocol,
    /// Google refused the credentials: `invalid_grant`, `unauthorized_client`, HTTP 401 or 403.
    Refused,
    /// The credentials can't be used, and nothing was sent.
    Config,
}

impl ExitCode {
    /// Every class, in the order the documentation lists them.
    pub const ALL: [ExitCode; 9] = [
        ExitCode::Success,
        ExitCode::Failure,
        ExitCode::Usage,
        ExitCode::DataError,
        ExitCode::Output,
        ExitCode::Temporary,
        ExitCode::Protocol,
        ExitCode::Refused,
        ExitCode::Config,
    ];

    /// Returns the process exit status.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::DataError => 65,
            ExitCode::Output => 74,
            ExitCode::Temporary => 75,
            ExitCode::Protocol => 76,
            ExitCode::Refused => 77,
            ExitCode::Config => 78,
        }
    }

    /// Returns the one-line meaning used in `--help`, the man page and the README.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Success => "token printed",
            ExitCode::Failure => "a `doctor` step failed, or `cache clear` failed to remove a file",
            ExitCode::Usage => "usage error",
            ExitCode::DataError => "`inspect` input is not a JWT",
            ExitCode::Output => "writing to standard output failed",
            ExitCode::Temporary => {
                "temporary failure: connection failed, timeout, HTTP 5xx or 429, untrusted certificate"
            }
            ExitCode::Protocol => {
                "the server returned something unexpected: not JSON, an HTML page, an oversize body, no id_token, a token for another audience or already expired"
            }
            ExitCode::Refused => {
                "Google refused the credentials: invalid_grant, unauthorized_client, HTTP 401 or 403"
            }
            ExitCode::Config => {
                "the credentials, a proxy variable or a CA bundle can't be used; nothing was sent"
            }
        }
    }
}

impl From<ExitCode> for process::ExitCode {
    fn from(code: ExitCode) -> Self {
        process::ExitCode::from(code.code())
    }
}

/// Returns the exit-code table as plain text for `--help`, each line at most 78 columns wide,
/// so that clap does not wrap it again in an 80-column terminal. A long meaning continues
/// under its start.
pub fn table() -> String {
    const WIDTH: usize = 78;
    const INDENT: &str = "      ";
    let mut text = String::from("Exit codes:\n");
    for code in ExitCode::ALL {
        let mut line = format!("  {:>2} ", code.code());
        for word in code.meaning().split(' ') {
            if line.len() + 1 + word.len() > WIDTH && line.len() > INDENT.len() {
                text.push_str(&line);
                text.push('\n');
                line = INDENT.to_string();
            } else {
                line.push(' ');
            }
            line.push_str(word);
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ExitCode::ALL.len());
    }

    #[test]
    fn codes_match_documented_numbers() {
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::Temporary.code(), 75);
        assert_eq!(ExitCode::Protocol.code(), 76);
        assert_eq!(ExitCode::Refused.code(), 77);
        assert_eq!(ExitCode::Config.code(), 78);
    }

    #[test]
    fn table_lists_every_code() {
        // Wrapped lines join with the continuation indent.
        let text = table().replace("\n      ", " ");
        for code in ExitCode::ALL {
            assert!(text.contains(code.meaning()), "missing {code:?}");
        }
        assert!(table().lines().all(|line| line.len() <= 78));
    }
}
