//! Graceful shutdown as an argument (mini-redis's habit): a listener runs until the future it was
//! given resolves, then stops accepting, lets requests in flight finish, and returns. `serve`
//! passes Ctrl-C; tests pass a channel, so they stop the servers they start.

use std::future::Future;

use actix_web::dev::Server;

/// Runs `server` until it ends by itself or `shutdown` resolves (then stops it gracefully).
pub async fn until(server: Server, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let handle = server.handle();
    let mut server = std::pin::pin!(server);
    tokio::select! {
        ended = &mut server => ended,
        () = shutdown => {
            // The stop command is handled by the server's own future, so both must be polled
            // together: awaiting the stop first, with the server parked, never finishes.
            let (_, ended) = futures::join!(handle.stop(true), server);
            ended
        }
    }
}
