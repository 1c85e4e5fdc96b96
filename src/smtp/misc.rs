//! RSET and QUIT. NOOP, VRFY and HELP are single replies in the dispatch.

use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Flow, Session};

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    pub(super) async fn rset(&mut self) {
        self.reset_transaction().await;
        self.reply(Reply::ok());
    }

    pub(super) async fn quit(&mut self) -> Flow {
        self.reset_transaction().await;
        let bye = Reply::bye(&self.ctx.hostname);
        self.close_with(bye).await
    }
}
