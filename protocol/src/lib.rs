//! Confab's wire types, shared by the server and the WASM client so both compile against the same
//! definitions. Serde only: no runtime, no storage.
//!
//! Layout:
//! - [`error`]: the contract's `{error:{code,message}}` body and its typed codes.
//! - [`text`]: the text rules every user-supplied string goes through.
//! - [`accounts`]: users, sign-up/sign-in requests and the newtypes that enforce their limits.
//! - [`conversations`], [`messages`], [`posts`]: the chat resources and their requests.
//! - [`push`]: Web Push subscriptions and what a push carries.
//! - [`events`]: the WebSocket / Server-Sent Events frames.

/// Users and the sign-up / sign-in exchange.
pub mod accounts;
/// Direct, group and post-linked conversations; participants and roles.
pub mod conversations;
/// Errors as the contract puts them on the wire.
pub mod error;
/// The real-time channel's frames, both ways.
pub mod events;
/// Messages and history pages.
pub mod messages;
/// Help-request posts.
pub mod posts;
/// Web Push subscriptions and what a push carries.
pub mod push;
/// Trimming and control-character rules shared by names, titles and bodies.
pub mod text;

pub use accounts::{
    AuthResponse, DisplayName, LoginRequest, Password, RegisterRequest, User, UserId, Username,
    UsersResponse,
};
pub use conversations::{
    AddParticipant, ChangeRole, Conversation, ConversationId, ConversationKind, ConversationList,
    CreateConversation, GroupTitle, MarkRead, MuteConversation, NewConversation, Participant,
    PostRef, RenameConversation, Role,
};
pub use error::{ErrorBody, ErrorCode, ErrorDetail, FieldError};
pub use events::{ChangeEntry, ChangePage, ClientEvent, FrameError, ServerEvent, Typing};
pub use messages::{
    ClientMsgId, EditMessage, Message, MessageBody, MessageId, MessagePage, SendMessage,
};
pub use posts::{CreatePost, Post, PostId, PostList, UpdatePost};
pub use push::{PushEndpoint, PushKey, PushKeys, PushNotification, PushSubscription};
