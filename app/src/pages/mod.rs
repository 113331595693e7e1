mod auth_forms;
mod chat_window;
mod group_details;
mod help_requests;
mod home;
mod mute;
mod new_conversation;
mod not_found;
mod pane;
mod people_search;

pub use auth_forms::{SignIn, SignUp};
pub use home::Home;
pub use not_found::NotFound;
