//! The REST API described as OpenAPI 3.1 (`/api/openapi.json`) and as a plain HTML page
//! (`/api/docs`). The page is rendered here from the same document, with no script and no
//! outside asset, so it works offline and under the strict CSP every response carries.

use std::fmt::Write;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab",
        description = "Confab's REST API: accounts, conversations, messages, participants and \
                       help-request posts. Errors are `{\"error\": {\"code\", \"message\"}}`. \
                       Authenticate with `Authorization: Bearer <token>` or the session cookie."
    ),
    paths(
        super::accounts::register,
        super::accounts::login,
        super::accounts::logout,
        super::accounts::me,
        super::accounts::users,
        super::conversations::list,
        super::conversations::create,
        super::conversations::show,
        super::conversations::rename,
        super::conversations::read,
        super::conversations::mute,
        super::conversations::unmute,
        super::conversations::add_participant,
        super::conversations::change_role,
        super::conversations::remove_participant,
        super::conversations::changes,
        super::conversations::typing,
        super::messages::history,
        super::messages::send,
        super::messages::edit,
        super::messages::delete,
        super::posts::list,
        super::posts::create,
        super::posts::show,
        super::posts::update,
        super::push::key,
        super::push::subscribe,
        super::push::unsubscribe,
    ),
    modifiers(&Auth),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, sessions, people"),
        (name = "conversations", description = "Direct, group and post-linked conversations"),
        (name = "participants", description = "Group membership and roles"),
        (name = "messages", description = "History, sending, edits, deletions"),
        (name = "posts", description = "Help requests a conversation can be about"),
        (name = "push", description = "Web Push: new messages reach a subscribed browser with no page open (an addition)"),
        (name = "live", description = "Catching up after time away, and typing without a socket (see docs/protocol.md)"),
    )
)]
struct ApiDoc;

/// The two ways to present a session token.
struct Auth;

impl Modify for Auth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(chat::web::SESSION_COOKIE))),
        );
    }
}

/// The document, built once: it never changes while the server runs.
static SPEC: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
});

static PAGE: LazyLock<String> = LazyLock::new(|| render(&ApiDoc::openapi()));

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], SPEC.as_str()) }),
        )
        .route("/docs", get(|| async { page().into_response() }))
}

fn page() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        )],
        Html(PAGE.as_str()),
    )
}

/// A readable page: every operation with its parameters, body and answers; every schema with
/// its fields.
fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Confab API</title><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}\
         code,pre{font-family:ui-monospace,monospace}section{border-top:1px solid #ccc;padding:.5rem 0}\
         .m{display:inline-block;min-width:4.5rem;font-weight:700}table{border-collapse:collapse}\
         td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
         </style></head><body><h1>Confab API</h1>",
    );
    if let Some(d) = &doc.info.description {
        let _ = write!(out, "<p>{}</p>", escape(d));
    }
    out.push_str("<p>Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1).</p><h2>Operations</h2>");
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                render_operation(&mut out, method, path, op);
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(components) = &doc.components {
        for (name, schema) in &components.schemas {
            let _ = write!(
                out,
                "<section id=\"{0}\"><h3>{0}</h3>{1}</section>",
                escape(name),
                schema_text(schema)
            );
        }
    }
    out.push_str("</body></html>");
    out
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Operation) {
    let _ = write!(
        out,
        "<section><h3><span class=\"m\">{method}</span><code>{}</code></h3>",
        escape(path)
    );
    if let Some(params) = &op.parameters {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>");
        for p in params {
            let place = match p.parameter_in {
                ParameterIn::Path => "path",
                ParameterIn::Query => "query",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{place}</td><td>{}</td></tr>",
                escape(&p.name),
                escape(p.description.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = &op.request_body {
        for content in body.content.values() {
            if let Some(schema) = &content.schema {
                let _ = write!(out, "<p>Body: {}</p>", schema_text(schema));
            }
        }
    }
    out.push_str("<ul>");
    for (status, response) in &op.responses.responses {
        let (description, schema) = match response {
            RefOr::T(r) => (
                r.description.clone(),
                r.content
                    .values()
                    .find_map(|c| c.schema.as_ref())
                    .map(schema_text),
            ),
            RefOr::Ref(r) => (String::new(), Some(ref_link(&r.ref_location))),
        };
        let _ = write!(
            out,
            "<li><b>{}</b> {} {}</li>",
            escape(status),
            escape(&description),
            schema.unwrap_or_default()
        );
    }
    out.push_str("</ul></section>");
}

/// A schema as a link to its definition, or its fields when it is defined inline.
fn schema_text(schema: &RefOr<Schema>) -> String {
    match schema {
        RefOr::Ref(r) => ref_link(&r.ref_location),
        RefOr::T(Schema::Object(o)) if !o.properties.is_empty() => {
            let mut s = String::from("<table><tr><th>field</th><th>type</th><th>note</th></tr>");
            for (name, field) in &o.properties {
                let required = if o.required.contains(name) {
                    "required"
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{required}</td></tr>",
                    escape(name),
                    type_name(field)
                );
            }
            s.push_str("</table>");
            s
        }
        RefOr::T(other) => type_name(&RefOr::T(other.clone())),
    }
}

fn type_name(schema: &RefOr<Schema>) -> String {
    match schema {
        RefOr::Ref(r) => ref_link(&r.ref_location),
        RefOr::T(s) => {
            let json = serde_json::to_value(s).unwrap_or_default();
            let text = json
                .get("enum")
                .map(|e| format!("one of {e}"))
                .or_else(|| json.get("type").map(ToString::to_string))
                .unwrap_or_else(|| json.to_string());
            format!("<code>{}</code>", escape(&text))
        }
    }
}

fn ref_link(location: &str) -> String {
    let name = location.rsplit('/').next().unwrap_or(location);
    format!("<a href=\"#{0}\"><code>{0}</code></a>", escape(name))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
