//! The web console (placeholder while it is built).

use axum::Router;

/// The console's routes.
pub fn router() -> Router {
    Router::new()
}
