//! The error type that every failure becomes: a message, optional hints, and the exit-code class.
//!
//! Messages are written for the person reading stderr: they name the file, variable or URL
//! concerned and never contain file contents, the private key, the assertion or a token.

use std::fmt;

use crate::exit_code::ExitCode;

/// A failure with its exit-code class and the hints printed after the message.
#[derive(Debug)]
pub struct Error {
    class: ExitCode,
    message: String,
    hints: Vec<String>,
    /// Whether another attempt may succeed. Set for temporary failures, except those that
    /// a retry can't change (the budget ran out, an untrusted certificate).
    retryable: bool,
    /// The OAuth `error` code of the server's response, such as `invalid_grant`, when there is one.
    oauth_error: Option<String>,
}

/// The result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Creates an error of the given class.
    pub fn new(class: ExitCode, message: impl Into<String>) -> Self {
        Error {
            class,
            message: message.into(),
            hints: Vec::new(),
            retryable: class == ExitCode::Temporary,
            oauth_error: None,
        }
    }

    /// Creates an error for credentials that can't be used, when nothing was sent (exit 78).
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ExitCode::Config, message)
    }

    /// Google refused the credentials (exit 77).
    pub fn refused(message: impl Into<String>) -> Self {
        Error::new(ExitCode::Refused, message)
    }

    /// Creates an error for a temporary failure that a later run may not meet (exit 75).
    pub fn temporary(message: impl Into<String>) -> Self {
        Error::new(ExitCode::Temporary, message)
    }

    /// Creates an error for an unexpected server response (exit 76).
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ExitCode::Protocol, message)
    }

    /// Input that should have been a JWT is not one (exit 65).
    pub fn data(message: impl Into<String>) -> Self {
        Error::new(ExitCode::DataError, message)
    }

    /// Adds a hint, printed on its own line after the message.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Returns the exit-code class.
    pub fn class(&self) -> ExitCode {
        self.class
    }

    /// Returns the one-line message, without the program-name prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the hints in the order they were added.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// Marks the failure as one that another attempt would meet again.
    pub fn not_retryable(mut self) -> Self {
        self.retryable = false;
        self
    }

    /// Returns whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Appends text to the message, as in "… (3 attempts made)".
    pub fn append(mut self, text: impl fmt::Display) -> Self {
        self.message = format!("{}{text}", self.message);
        self
    }

    /// Records the OAuth `error` code of the server's response, for callers that act on it.
    pub fn with_oauth_error(mut self, code: impl Into<String>) -> Self {
        self.oauth_error = Some(code.into());
        self
    }

    /// Returns the OAuth `error` code of the server's response, if any.
    pub fn oauth_error(&self) -> Option<&str> {
        self.oauth_error.as_deref()
    }

    /// Prefixes the message with context, as in "failed to read the key: …".
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
