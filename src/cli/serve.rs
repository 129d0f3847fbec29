//! `switchyard serve`: opens the node (data directory, store, dependencies, endpoints), binds the
//! public and admin listeners, prints the startup banner and serves until Ctrl-C, then stops both
//! listeners gracefully.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use anyhow::Context;
use futures::FutureExt;

use crate::app::AppState;
use crate::banner::Banner;
use crate::config::{Config, Overrides};
use crate::data_dir::TokenOrigin;

/// `serve`'s flags.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Configuration file (default: the embedded defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Public listener address (overrides the file).
    #[arg(long)]
    public: Option<SocketAddr>,
    /// Admin listener address (overrides the file).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// Data directory (overrides the file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn bind(address: SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).with_context(|| format!("cannot listen on {address} ({key})"))
}

pub(super) fn serve(args: ServeArgs, verbose: u8) -> anyhow::Result<()> {
    let overrides = Overrides { public: args.public, admin: args.admin, data_dir: args.data_dir };
    let config = Config::load(args.config.as_deref(), &overrides);
    crate::logging::init(config.as_ref().map(|c| &c.log).unwrap_or(&Default::default()), verbose, true);
    let config = config?;
    let config_file = args.config.as_ref().map(|p| p.display().to_string());
    actix_web::rt::System::new().block_on(async move {
        let (public_at, admin_at) = (config.server.public, config.server.admin);
        let public_listener = bind(public_at, "server.public")?;
        let admin_listener = bind(admin_at, "server.admin")?;
        let state = AppState::open(config)?;
        let banner = banner(&state, public_listener.local_addr()?, admin_listener.local_addr()?, config_file);
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let stopped = stopped.map(|_| ()).shared();
        let public = crate::public::serve(state.clone(), public_listener, stopped.clone())?;
        let admin = crate::admin::serve(state.clone(), admin_listener, stopped)?;
        super::emit(&banner.render());
        actix_web::rt::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stopping: finishing the requests in flight");
            let _ = stop.send(());
        });
        let (public, admin) = futures::join!(public, admin);
        state.shutdown().await;
        public?;
        admin?;
        Ok(())
    })
}

fn banner(state: &AppState, public: SocketAddr, admin: SocketAddr, config_file: Option<String>) -> Banner {
    let startup = &state.startup;
    let data_dir = startup.data_dir.root().display();
    let data = if startup.created {
        format!("{data_dir} (new store, seeded with the sample endpoints)")
    } else {
        format!("{data_dir} (store opened)")
    };
    let admin_token = match &startup.token {
        Some((token, TokenOrigin::Generated(path))) => Some(format!("{token}  (generated into {})", path.display())),
        Some((_, TokenOrigin::File(path))) => Some(format!("in {}", path.display())),
        Some((_, TokenOrigin::Environment)) => Some("from SWITCHYARD_ADMIN_TOKEN".to_owned()),
        None => Some(format!("{} configured in [auth]", state.node.config.auth.admin_tokens.len())),
    };
    let config = &state.node.config.cluster;
    let cluster = if config.is_alone() {
        format!("node {} alone (a one-member cluster; [cluster] members to replicate)", config.node_id)
    } else {
        let status = state.cluster.status();
        let leader = status.leader.map_or_else(|| "none yet".to_owned(), |l| format!("node {l}"));
        format!(
            "node {} of {} voters and {} learners ({} members configured), leader {leader}",
            config.node_id,
            status.voters.len(),
            status.learners.len(),
            config.members.len() + config.learners.len()
        )
    };
    Banner {
        public,
        admin: Some(admin),
        cluster,
        environment: state.store.environment().to_owned(),
        config_file,
        data,
        admin_token,
        dependencies: state
            .node
            .dependencies
            .registry()
            .iter()
            .map(|d| format!("{} ({})", d.name(), d.settings().kind.name()))
            .collect(),
        endpoints: state.endpoints.list().iter().map(|e| format!("{} r{}", e.key, e.routing.active)).collect(),
    }
}
