//! The one error type of the library, and its two maps: to `tonic::Status`
//! (gRPC) and to an HTTP status (the REST facades, which shape the body as
//! their protocol does). Each store's conversion of its engine's errors is
//! the store's (`store::sled_store`, `store::postgres`).

use std::path::PathBuf;

/// What can go wrong in Dhakira. Each variant says when it happens; the
/// message is written for the person who sent the request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field holds a value that cannot be accepted (empty text, an
    /// unknown language, a limit out of range…). `field` is the request
    /// field's path, e.g. `units[3].arabic`.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },

    /// The thing a request names does not exist (a unit id, a memory name).
    #[error("{field}: {reason}")]
    NotFound { field: String, reason: String },

    /// The thing a request would create exists already (a memory name, a
    /// pair an update would duplicate).
    #[error("{field}: {reason}")]
    AlreadyExists { field: String, reason: String },

    /// The request bears no API key, or one the server does not know.
    #[error("{0}")]
    Unauthenticated(String),

    /// The API key lacks the right the request needs.
    #[error("{field}: {reason}")]
    PermissionDenied { field: String, reason: String },

    /// The disk is full: the write was not stored (nothing of it was
    /// acknowledged); reads go on, and writes resume once space returns.
    #[error("the disk is full: {0}; nothing of this write was stored, reads still work")]
    DiskFull(String),

    /// Another process holds the database directory (sled locks it).
    #[error(
        "the database at {} is in use by another process (is a Dhakira server running on it? \
         stop it, or talk to it over gRPC instead)",
        path.display()
    )]
    Locked { path: PathBuf },

    /// The storage engine failed (I/O error, disk full…). Nothing that
    /// failed this way was acknowledged. `message` quotes `source`, the
    /// engine's or the system's error, when there is one (clients see only
    /// the message).
    #[error("storage failure: {message}")]
    Storage {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The database cannot be reached now (PostgreSQL refused or lost the
    /// connection, or is shutting down): nothing of the request was
    /// acknowledged; retry. `message` quotes `source`, the driver's error.
    #[error("the database is unavailable: {message}; retry")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A stored record could not be decoded: the database is damaged.
    #[error("stored record {key} is damaged: {reason}")]
    Corrupt { key: String, reason: String },

    /// The database cannot be served as it is: its storage engine found it
    /// damaged (or failed reading it), or its acknowledgment record is
    /// missing. The message says what to do.
    #[error("{0}")]
    Damaged(String),

    /// The request was cancelled (its deadline passed, or its client went
    /// away): its work stopped, and whatever it would have changed was
    /// either stored in full or not at all.
    #[error(
        "the request's deadline passed (the client's grpc-timeout or the server's --request-timeout); its work \
         was stopped"
    )]
    Cancelled,

    /// A bounded kind of work is at its limit (full scans, `--max-scans`):
    /// nothing was done; retry after a short backoff.
    #[error("{0}")]
    Busy(String),

    /// The engine is shutting down and takes no more writes.
    #[error("the translation memory is shutting down")]
    ShuttingDown,

    /// An input file could not be read or parsed.
    #[error("{path}: {reason}")]
    Input { path: String, reason: String },

    /// An export could not be written (the file, or the client that asked
    /// for it, went away).
    #[error("cannot write the export: {0}")]
    Output(String),
}

/// What to do with a damaged database, the end of every message that
/// refuses one.
pub const REFUSED: &str = "It is not served as it is: restore the directory from a backup, or start a new database \
                           and import your last TMX export into it";

/// A `Result` with Dhakira's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidArgument { field: field.into(), reason: reason.into() }
    }

    /// An [`Error::AlreadyExists`] for `field`.
    pub fn exists(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::AlreadyExists { field: field.into(), reason: reason.into() }
    }

    /// An [`Error::NotFound`] for `field`.
    pub fn not_found(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::NotFound { field: field.into(), reason: reason.into() }
    }

    /// An [`Error::Storage`] with no error of its own behind it.
    pub fn storage(message: impl Into<String>) -> Error {
        Error::Storage { message: message.into(), source: None }
    }

    /// An [`Error::Storage`] caused by `source` (which `message` quotes).
    pub fn storage_caused(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Storage { message: message.into(), source: Some(Box::new(source)) }
    }
}

impl Error {
    /// An I/O failure while `doing` something: [`Error::DiskFull`] when the
    /// disk is full, else [`Error::Storage`].
    pub fn from_io(err: std::io::Error, doing: &str) -> Error {
        if err.kind() == std::io::ErrorKind::StorageFull || err.raw_os_error() == Some(28) {
            Error::DiskFull(format!("{doing}: {err}"))
        } else {
            Error::storage_caused(format!("{doing}: {err}"), err)
        }
    }
}

/// The one place where library errors become gRPC statuses: handlers just
/// use `?`.
impl From<Error> for tonic::Status {
    fn from(err: Error) -> tonic::Status {
        use tonic::Code;
        let code = match &err {
            Error::InvalidArgument { .. } | Error::Input { .. } => Code::InvalidArgument,
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied { .. } => Code::PermissionDenied,
            Error::DiskFull(_) | Error::Busy(_) => Code::ResourceExhausted,
            Error::Cancelled => Code::DeadlineExceeded,
            Error::Locked { .. } | Error::ShuttingDown | Error::Unavailable { .. } => Code::Unavailable,
            Error::Storage { .. } | Error::Output(_) => Code::Internal,
            Error::Corrupt { .. } | Error::Damaged(_) => Code::DataLoss,
        };
        if code == Code::Internal || code == Code::DataLoss {
            tracing::error!(error = %err, "request failed");
        }
        tonic::Status::new(code, err.to_string())
    }
}

impl Error {
    /// The one place where library errors become HTTP statuses (the REST
    /// facades, `/metrics`, the authentication layer), as the gRPC codes
    /// above map to them: each facade shapes the body as its protocol does
    /// (`server::rest`).
    pub fn http_status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Error::InvalidArgument { .. } | Error::Input { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } => StatusCode::CONFLICT,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::PermissionDenied { .. } => StatusCode::FORBIDDEN,
            Error::DiskFull(_)
            | Error::Busy(_)
            | Error::Locked { .. }
            | Error::ShuttingDown
            | Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Cancelled => StatusCode::GATEWAY_TIMEOUT,
            Error::Storage { .. } | Error::Output(_) | Error::Corrupt { .. } | Error::Damaged(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}
