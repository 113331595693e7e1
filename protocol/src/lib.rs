//! Confab's wire types, shared by the server and the WASM client so both compile against the same
//! definitions. Serde only: no runtime, no storage.
//!
//! Layout:
//! - [`error`]: the contract's `{error:{code,message}}` body and its typed codes.
//! - [`text`]: the text rules every user-supplied string goes through.
//! - [`accounts`]: users, sign-up/sign-in requests and the newtypes that enforce their limits.

/// Users and the sign-up / sign-in exchange.
pub mod accounts;
/// Errors as the contract puts them on the wire.
pub mod error;
/// Trimming and control-character rules shared by names, titles and bodies.
pub mod text;

pub use accounts::{
    AuthResponse, DisplayName, LoginRequest, Password, RegisterRequest, User, UserId, Username,
    UsersResponse,
};
pub use error::{ErrorBody, ErrorCode, ErrorDetail, FieldError};
