//! A group's members, opened from its window: everyone sees who is in it and may leave (all
//! but the owner); its owner and admins rename it, add people and take members out; its owner
//! makes members admins and back.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use protocol::{Conversation, Participant, Role, User, UserId};

use super::pane::alert;
use super::people_search::PeopleSearch;
use crate::conversations::{add_member, remove_member, rename_group, set_member_role};
use crate::live::OpenChat;
use crate::session::failure_in;

/// `my_role` is the caller's role in the group as the window holds it (`None` once out).
#[component]
pub fn GroupDetails(me: UserId, chat: OpenChat, my_role: Memo<Option<Role>>) -> impl IntoView {
    let id = chat.id.0;
    let manages = move || my_role.get().is_some_and(Role::manages);
    let owns = move || my_role.get() == Some(Role::Owner);
    // What these change, as the server answers it, the window shows at once (the socket's news
    // of it says the same).
    let rename = Action::new(move |title: &String| rename_group(id, title.clone()));
    let add = Action::new(move |user: &UserId| add_member(id, user.0));
    let promote =
        Action::new(move |(user, admin): &(UserId, bool)| set_member_role(id, user.0, *admin));
    let remove = Action::new(move |user: &UserId| {
        let user = *user;
        async move { remove_member(id, user.0).await.map(|()| user) }
    });
    show_answers(chat, rename);
    show_answers(chat, add);
    show_answers(chat, promote);
    let navigate = use_navigate();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(user)) if user == me => navigate("/", Default::default()),
        Some(Ok(user)) => chat
            .details
            .update(|c| c.participants.retain(|p| p.user.id != user)),
        _ => {}
    });
    let failure = move || {
        failure_in(rename.value())
            .or_else(|| failure_in(add.value()))
            .or_else(|| failure_in(promote.value()))
            .or_else(|| failure_in(remove.value()))
    };

    let title = RwSignal::new(
        chat.details
            .with_untracked(|c| c.title.clone().unwrap_or_default()),
    );
    let is_member = Callback::new(move |user: UserId| {
        chat.details
            .with(|c| c.participants.iter().any(|p| p.user.id == user))
    });
    let pick = Callback::new(move |user: User| {
        if !is_member.run(user.id) && !add.pending().get_untracked() {
            add.dispatch(user.id);
        }
    });
    let leaving = RwSignal::new(false);

    view! {
        <div class="pane-body group-details" role="region" aria-label="Members">
            <Show when=manages>
                <form
                    class="rename"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        rename.dispatch(title.get_untracked());
                    }
                >
                    <label for="group-name">"Group name"</label>
                    <div class="inline-field">
                        <input
                            id="group-name"
                            required
                            maxlength="100"
                            prop:value=title
                            on:input=move |ev| title.set(event_target_value(&ev))
                        />
                        <button type="submit" disabled=move || rename.pending().get()>
                            "Rename"
                        </button>
                    </div>
                </form>
            </Show>
            <ul class="members" aria-label="Members">
                <For
                    each=move || chat.details.with(|c| c.participants.clone())
                    key=|p| (p.user.id, p.role)
                    children=move |p: Participant| {
                        view! { <MemberRow member=p me manages owns remove promote /> }.into_any()
                    }
                />
            </ul>
            <Show when=manages>
                <PeopleSearch input_id="add-people" label="Add people" pick chosen=is_member />
            </Show>
            <Show when=move || my_role.get().is_some_and(|role| role != Role::Owner)>
                <Show
                    when=move || leaving.get()
                    fallback=move || {
                        view! {
                            <button type="button" class="ghost" on:click=move |_| leaving.set(true)>
                                "Leave group"
                            </button>
                        }
                    }
                >
                    <p class="confirm">
                        "Leave this group? You will no longer see its messages."
                        <button
                            type="button"
                            class="danger"
                            on:click=move |_| {
                                remove.dispatch(me);
                            }
                        >
                            "Leave"
                        </button>
                        <button type="button" class="ghost" on:click=move |_| leaving.set(false)>
                            "Cancel"
                        </button>
                    </p>
                </Show>
            </Show>
            {move || alert(failure())}
        </div>
    }
}

/// Shows the group as `action`'s answers have it, unless the socket has brought newer news
/// meanwhile (a later `version`).
fn show_answers<I: Send + Sync + 'static>(
    chat: OpenChat,
    action: Action<I, Result<Conversation, ServerFnError>>,
) {
    Effect::new(move |_| {
        if let Some(Ok(answer)) = action.value().get() {
            chat.details.update(|held| {
                if answer.version >= held.version {
                    *held = answer;
                }
            });
        }
    });
}

/// One member: their name, their role unless a plain member, "Remove" for those who run the
/// group (never on the owner, nor on oneself: that is leaving), and for the owner "Make admin"
/// or "Make member".
#[component]
fn MemberRow(
    member: Participant,
    me: UserId,
    manages: impl Fn() -> bool + Send + Sync + Copy + 'static,
    owns: impl Fn() -> bool + Send + Sync + Copy + 'static,
    remove: Action<UserId, Result<UserId, ServerFnError>>,
    promote: Action<(UserId, bool), Result<Conversation, ServerFnError>>,
) -> impl IntoView {
    let user = member.user.id;
    let name = member.user.display_name;
    let role = match member.role {
        Role::Owner => Some("owner"),
        Role::Admin => Some("admin"),
        Role::Member => None,
    };
    let removable = member.role != Role::Owner && user != me;
    // An admin becomes a member again; a member becomes an admin.
    let to_admin = member.role == Role::Member;
    let (change, change_label) = if to_admin {
        ("Make admin", format!("Make {name} an admin"))
    } else {
        ("Make member", format!("Make {name} a member"))
    };
    view! {
        <li>
            <span class="name">{name.clone()}</span>
            {role.map(|role| view! { <span class="hint">{role}</span> })}
            <Show when=move || removable && owns()>
                <button
                    type="button"
                    class="ghost"
                    aria-label=change_label.clone()
                    disabled=move || promote.pending().get()
                    on:click=move |_| {
                        promote.dispatch((user, to_admin));
                    }
                >
                    {change}
                </button>
            </Show>
            <Show when=move || removable && manages()>
                <button
                    type="button"
                    class="ghost"
                    aria-label=format!("Remove {name}")
                    disabled=move || remove.pending().get()
                    on:click=move |_| {
                        remove.dispatch(user);
                    }
                >
                    "Remove"
                </button>
            </Show>
        </li>
    }
}
