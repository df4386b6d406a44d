//! Starting and stopping a node: locks the data directory (`DIR/LOCK`, see
//! [`guild_os::lock`]), opens and checks storage, builds the
//! network, and spawns the engine, the network loop and the API server.

use crate::automation::{
    self, AutomationConfig, AutomationErasure, AutomationError, DirectoryFacts, InsightScores,
};
use crate::directory::Directory;
use crate::engine::{Engine, EngineConfig, EngineParts, Libp2pNet, SharedSigner, SystemClock};
use crate::handle::NodeHandle;
use crate::p2p::{self, NetConfig, NetError};
use crate::signer::{FileSigner, SignerError};
use crate::store::{Store, StoreError};
use crate::tokens::{TokenError, TokenStore};
use guild_ledger::block::{BlockHeader, CommitCertificate};
use guild_ledger::crypto::Keypair;
use guild_ledger::error::GenesisError;
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::State;
use guild_ledger::types::Height;
use guild_os::lock::{DirLock, LockError};
use libp2p::{Multiaddr, PeerId, identity};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// A genesis file: the ledger's [`Genesis`] plus where to find peers.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GenesisFile {
    /// The network's genesis.
    #[serde(flatten)]
    pub genesis: Genesis,
    /// Addresses of the founding members' nodes (multiaddrs), dialled on
    /// start.
    #[serde(default)]
    pub peers: Vec<String>,
}

impl GenesisFile {
    /// Reads and validates a genesis file.
    pub fn read(path: &Path) -> Result<GenesisFile, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|source| NodeError::Io {
            what: format!("cannot read genesis file {}", path.display()),
            source,
        })?;
        let file: GenesisFile =
            serde_json::from_str(&text).map_err(|source| NodeError::GenesisJson {
                path: path.display().to_string(),
                source,
            })?;
        file.genesis
            .validate()
            .map_err(|source| NodeError::Genesis {
                path: path.display().to_string(),
                source,
            })?;
        Ok(file)
    }
}

/// How to run a node.
pub struct NodeConfig {
    /// The data directory (sled database, signing record, network key, API
    /// tokens, customer directory).
    pub data_dir: PathBuf,
    /// The network's genesis.
    pub genesis: GenesisFile,
    /// libp2p listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial (besides the genesis peers).
    pub peers: Vec<Multiaddr>,
    /// Where the HTTP API listens.
    pub api: SocketAddr,
    /// The member key; `None` runs an observer.
    pub key: Option<Keypair>,
    /// Discover peers on the LAN.
    pub mdns: bool,
    /// Accept connections only from current members and `allow`.
    pub members_only: bool,
    /// Extra peers allowed when `members_only` (e.g. named auditors).
    pub allow: Vec<PeerId>,
    /// sled page-cache size in bytes.
    pub cache_bytes: u64,
    /// Engine settings.
    pub engine: EngineConfig,
    /// The automation service's settings.
    pub automation: AutomationConfig,
    /// Where the web console and the read-only explorer are served.
    pub console: ConsoleConfig,
}

/// Where the web console (`guild-console`) is served.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Serve the console under `/console/` on the API's address (the
    /// default) or, if `Some`, on an address of its own instead.
    pub addr: Option<SocketAddr>,
    /// Serve no console at all.
    pub disabled: bool,
    /// Also serve the read-only explorer (no sign-in, nothing that changes
    /// anything, nothing from the customer directory) on this address, e.g.
    /// one open to the network for auditors.
    pub explorer: Option<SocketAddr>,
}

impl NodeConfig {
    /// Defaults for everything but the data directory, genesis and key.
    pub fn new(data_dir: PathBuf, genesis: GenesisFile, key: Option<Keypair>) -> NodeConfig {
        NodeConfig {
            data_dir,
            genesis,
            listen: Vec::new(),
            peers: Vec::new(),
            api: SocketAddr::from(([127, 0, 0, 1], 8545)),
            key,
            mdns: true,
            members_only: false,
            allow: Vec::new(),
            cache_bytes: 32 * 1024 * 1024,
            engine: EngineConfig::default(),
            automation: AutomationConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

/// Why a node cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A file or directory problem.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The web console cannot be set up.
    #[error("the web console cannot start: {what}")]
    Console {
        /// Why.
        what: String,
    },
    /// The genesis file is not JSON of a genesis.
    #[error("genesis file {path} is not valid: {source}")]
    GenesisJson {
        /// The file.
        path: String,
        /// What the JSON parser found.
        #[source]
        source: serde_json::Error,
    },
    /// The genesis is not valid (members, parameters, chain id).
    #[error("genesis file {path} is not valid: {source}")]
    Genesis {
        /// The file (`(given)` for a genesis given in memory).
        path: String,
        /// The ledger's rule.
        #[source]
        source: GenesisError,
    },
    /// Another process (a node, a devnet's node) uses the data directory.
    #[error("{0}; stop it first, or give this node another --data directory")]
    InUse(#[source] guild_os::lock::LockError),
    /// Storage failed or holds a corrupt chain.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing record is unusable.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The API token store is unusable.
    #[error(transparent)]
    Tokens(#[from] TokenError),
    /// The engine stopped on a failure it cannot go on from.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// Networking could not start.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The API address cannot be used.
    #[error(
        "cannot serve the API on {address}: {source} (is another node running? choose another address with --api)"
    )]
    Api {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The automation service cannot start (its files are damaged).
    #[error(transparent)]
    Automation(#[from] AutomationError),
    /// The engine stopped.
    #[error("the node stopped: {0}")]
    Stopped(String),
}

/// A running node.
pub struct Node {
    handle: NodeHandle,
    api_addr: SocketAddr,
    peer_id: PeerId,
    listening: watch::Receiver<Vec<Multiaddr>>,
    /// The engine's result, when its thread ends.
    engine: EngineDone,
    /// Tells the engine's thread to stop.
    stop_engine: Option<oneshot::Sender<()>>,
    network: JoinHandle<()>,
    api: JoinHandle<std::io::Result<()>>,
    stop_api: Option<oneshot::Sender<()>>,
    /// The console's and explorer's own listeners, if any.
    console: Vec<JoinHandle<std::io::Result<()>>>,
    /// Tells those listeners to stop.
    stop_console: watch::Sender<bool>,
    /// Where the console is served, if it is.
    console_url: Option<String>,
    /// Keeps the insights up to date.
    insights: Option<crate::insights::Follower>,
    automation: Option<automation::Running>,
    store: Store,
    directory: Directory,
    /// The data directory's lock, released when the node is dropped.
    _lock: DirLock,
}

/// Connections the API's listen queue holds before the kernel refuses more
/// (capped by the system's `somaxconn`): a burst of clients must wait for
/// an answer (perhaps "busy"), not for their connection attempt to time out.
const API_BACKLOG: u32 = 4096;

/// Binds the API's address with a deep listen queue.
fn listen_api(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted node can take its address
    // back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(API_BACKLOG)
}

/// `addr` as a client on this machine reaches it: an unspecified address
/// (`0.0.0.0`, `::`) becomes loopback.
fn loopback(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Binds `addr` and serves `router` (the console or the explorer, nested at
/// `/console`) there until `stop` turns true.
fn serve_console(
    addr: SocketAddr,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> Result<(JoinHandle<std::io::Result<()>>, SocketAddr), NodeError> {
    let listener = listen_api(addr).map_err(|source| NodeError::Api {
        address: addr,
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| NodeError::Api {
        address: addr,
        source,
    })?;
    if let Some(warning) = crate::api::exposure_warning(bound) {
        tracing::warn!("console: {warning}");
    }
    let task = tokio::spawn(crate::api::serve_router(
        listener,
        crate::api::console_app(router),
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        },
    ));
    Ok((task, bound))
}

/// The engine's result, when its thread ends.
type EngineDone = oneshot::Receiver<Result<(), crate::engine::EngineError>>;

/// Runs the engine on a thread of its own (with a single-threaded tokio
/// runtime for its timers), so its long synchronous steps (checking and
/// committing a large block, rebuilding the mempool) never hold the
/// runtime threads that serve the API and the network: under overload the
/// API still answers at once, with "busy" if need be.
fn spawn_engine(
    parts: EngineParts<Libp2pNet>,
    requests: mpsc::Receiver<crate::handle::Request>,
    net_events: mpsc::Receiver<p2p::NetEvent>,
) -> Result<(oneshot::Sender<()>, EngineDone), NodeError> {
    let io = |source| NodeError::Io {
        what: "cannot start the consensus engine".into(),
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name("guild-engine".into())
        .spawn(move || {
            let outcome = runtime.block_on(async move {
                tokio::select! {
                    outcome = crate::engine::run(Engine::new(parts), requests, net_events) => outcome,
                    _ = stopped => Ok(()),
                }
            });
            let _ = done.send(outcome);
        })
        .map_err(io)?;
    Ok((stop, result))
}

/// What the stored chain looks like after the start-up check.
struct Checked {
    state: State,
    head: BlockHeader,
    certificate: Option<CommitCertificate>,
}

/// Transaction signatures of this many most recent blocks are re-checked
/// on start (older ones were checked when they were committed; a full
/// re-verification is `guild audit verify`).
const RECHECK_SIGNATURES: u64 = 100;

/// Checks the stored chain before serving: every block decodes, links to
/// its parent and matches its transaction root; the recent blocks'
/// signatures verify; the head block's certificate verifies against the
/// member set valid at its height; and the stored state's root is the
/// head's.
fn check_chain(store: &Store, genesis_header: &BlockHeader) -> Result<Checked, StoreError> {
    let corrupt = |place: String, reason: String| StoreError::Corrupt {
        path: store.path().to_string(),
        place,
        reason,
    };
    let head_height = store.head()?;
    let state = store.load_state()?;
    let mut parent = genesis_header.clone();
    let mut certificate = None;
    for h in 1..=head_height.0 {
        let height = Height(h);
        let block = store
            .block(height)?
            .ok_or_else(|| corrupt(format!("block {height}"), "missing".into()))?;
        let header = &block.block.header;
        if header.height != height || header.prev_hash != parent.hash() {
            return Err(corrupt(
                format!("block {height}"),
                "does not link to the block before it".into(),
            ));
        }
        let ids: Vec<_> = block
            .block
            .txs
            .iter()
            .map(|tx| tx.tx.id(&state.chain().chain_id))
            .collect();
        if guild_ledger::block::tx_root(&ids) != header.tx_root {
            return Err(corrupt(
                format!("block {height}"),
                "its transactions do not match its header (transaction root)".into(),
            ));
        }
        if h + RECHECK_SIGNATURES > head_height.0 {
            for (index, tx) in block.block.txs.iter().enumerate() {
                if tx.clone().verify(&state.chain().chain_id).is_err() {
                    return Err(corrupt(
                        format!("block {height}, transaction {index}"),
                        "bad signature".into(),
                    ));
                }
            }
        }
        if block.certificate.block_hash != header.hash() {
            return Err(corrupt(
                format!("block {height}"),
                "its certificate is for another block".into(),
            ));
        }
        parent = block.block.header.clone();
        certificate = Some(block.certificate);
    }
    if let Some(certificate) = &certificate {
        let members = store.members_at(head_height)?;
        certificate
            .verify(&state.chain().chain_id, &parent, &members)
            .map_err(|e| corrupt(format!("block {head_height}"), e.to_string()))?;
    }
    if state.chain().height != head_height || state.root() != parent.state_root {
        return Err(corrupt(
            "state".into(),
            format!(
                "the stored state (height {}, root {}) does not match block {} (root {})",
                state.chain().height,
                state.root(),
                head_height,
                parent.state_root
            ),
        ));
    }
    Ok(Checked {
        state,
        head: parent,
        certificate,
    })
}

fn network_key(data_dir: &Path, key: Option<&Keypair>) -> Result<identity::Keypair, NodeError> {
    let io = |what: &str, source| NodeError::Io {
        what: what.to_string(),
        source,
    };
    let secret = match key {
        Some(key) => key.secret_bytes().to_vec(),
        None => {
            let path = data_dir.join("network.key");
            match std::fs::read(&path) {
                Ok(bytes) if bytes.len() == 32 => bytes,
                Ok(_) => {
                    return Err(NodeError::Io {
                        what: format!("network key {} is corrupt", path.display()),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "not 32 bytes",
                        ),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let mut bytes = [0u8; 32];
                    getrandom::fill(&mut bytes).map_err(|e| {
                        io(
                            "cannot generate a network key",
                            std::io::Error::other(e.to_string()),
                        )
                    })?;
                    std::fs::write(&path, bytes)
                        .map_err(|e| io("cannot write the network key", e))?;
                    bytes.to_vec()
                }
                Err(e) => return Err(io("cannot read the network key", e)),
            }
        }
    };
    identity::Keypair::ed25519_from_bytes(secret).map_err(|e| NodeError::Io {
        what: "bad network key".into(),
        source: std::io::Error::other(e.to_string()),
    })
}

impl Node {
    /// Opens storage, checks the chain, and starts networking, consensus
    /// and the API.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| NodeError::Io {
            what: format!("cannot create data directory {}", config.data_dir.display()),
            source,
        })?;
        // Before anything in the directory is opened: a second node on
        // the same directory is refused at once, naming the first's pid.
        let lock = DirLock::acquire(&config.data_dir, "guild node").map_err(|e| match e {
            LockError::InUse { .. } => NodeError::InUse(e),
            LockError::Io { path, source } => NodeError::Io {
                what: format!("cannot lock {}", path.display()),
                source,
            },
        })?;
        let genesis = &config.genesis.genesis;
        let (genesis_state, genesis_header) =
            genesis.build().map_err(|source| NodeError::Genesis {
                path: "(given)".into(),
                source,
            })?;
        let store = Store::open(&config.data_dir, config.cache_bytes)?;
        let tokens = TokenStore::open(&config.data_dir)?;
        let directory = Directory::open_or_unavailable(&config.data_dir);
        store.init(&genesis_header, &genesis_state)?;
        let checked = check_chain(&store, &genesis_header)?;
        let chain_id = genesis.chain_id.clone();

        let signer = match &config.key {
            Some(key) => SharedSigner::member(FileSigner::open(
                Keypair::from_secret(&key.secret_bytes()),
                chain_id.clone(),
                config.data_dir.join("signing.record"),
            )?),
            None => SharedSigner::observer(),
        };
        if let Some(key) = &config.key
            && checked.state.member(&key.address()).is_none()
        {
            tracing::warn!(address = %key.address(), "this key is not a member at the current height; running as an observer until it is");
        }
        let members = checked.state.member_set().len();
        if members < 4 {
            tracing::warn!(
                members,
                "fewer than 4 members: the network cannot tolerate any member being offline (n >= 3f+1); see docs/consensus.md"
            );
        }

        let keypair = network_key(&config.data_dir, config.key.as_ref())?;
        let peer_id = keypair.public().to_peer_id();
        let mut peers = config.peers.clone();
        for text in &config.genesis.peers {
            match text.parse::<Multiaddr>() {
                Ok(address) => peers.push(address),
                Err(error) => {
                    tracing::warn!(%text, %error, "ignoring a bad peer address in the genesis file")
                }
            }
        }
        let allowed = config.members_only.then(|| {
            let mut allowed: std::collections::HashSet<PeerId> = checked
                .state
                .members()
                .filter_map(|m| p2p::peer_id_of(&m.address))
                .collect();
            allowed.extend(config.allow.iter().copied());
            allowed
        });
        let net_config = NetConfig {
            keypair,
            listen: config.listen.clone(),
            peers,
            mdns: config.mdns,
            chain_id: chain_id.clone(),
            allowed,
            max_connections: 64,
        };
        let swarm = p2p::build(&net_config)?;

        let listener = listen_api(config.api).map_err(|source| NodeError::Api {
            address: config.api,
            source,
        })?;
        let api_addr = listener.local_addr().map_err(|source| NodeError::Api {
            address: config.api,
            source,
        })?;

        let (request_tx, request_rx) = mpsc::channel(1024);
        let (net_tx, net_rx) = mpsc::channel(1024);
        let (event_tx, mut event_rx) = mpsc::channel(4096);
        let (view_tx, view_rx) = watch::channel(Arc::new(crate::handle::ChainView {
            state: checked.state.clone(),
            head: checked.head.clone(),
            certificate: checked.certificate.clone(),
            mempool: 0,
            peers: 0,
            member: config
                .key
                .as_ref()
                .map(Keypair::address)
                .filter(|a| checked.state.member(a).is_some()),
            round: 0,
            syncing: false,
            sync: Default::default(),
            quorum: Default::default(),
            recent: crate::recent::RecentStates::new(checked.state.clone()),
        }));
        let (chain_events, _) = broadcast::channel(1024);
        let genesis = Arc::new(config.genesis.genesis.clone());
        // Subscribed before the engine starts, so no committed block is
        // missed after the stored head.
        let (insights, insights_follower) =
            crate::insights::spawn(genesis.clone(), store.clone(), chain_events.subscribe());
        let handle = NodeHandle {
            chain_id: chain_id.clone(),
            genesis,
            store: store.clone(),
            view: view_rx,
            events: chain_events.clone(),
            requests: request_tx,
            insights,
        };

        // Listening addresses are reported by the network loop; keep the
        // latest list for callers (devnet writes them out).
        let (listen_tx, listening) = watch::channel(Vec::new());
        let (engine_net_tx, engine_net_rx) = mpsc::channel(4096);
        tokio::spawn(async move {
            while let Some(event) = event_rx.recv().await {
                if let p2p::NetEvent::Listening(address) = &event {
                    listen_tx.send_modify(|list: &mut Vec<Multiaddr>| list.push(address.clone()));
                }
                if engine_net_tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let network = tokio::spawn(p2p::run(swarm, net_config, store.clone(), net_rx, event_tx));
        let parts = EngineParts {
            config: config.engine,
            chain_id,
            key: config.key,
            signer,
            store: store.clone(),
            state: checked.state,
            head: checked.head,
            certificate: checked.certificate,
            net: Libp2pNet(net_tx),
            clock: Box::new(SystemClock),
            view: view_tx,
            events: chain_events,
        };
        let (stop_engine, engine) = spawn_engine(parts, request_rx, engine_net_rx)?;
        // The shop's automations: customers' consent, names and birthdays
        // from the directory, segments and P(active) from the insights;
        // erasing a customer from the directory erases what the
        // automations keep about them.
        let running = automation::service::start(
            &config.data_dir,
            handle.clone(),
            Arc::new(DirectoryFacts(directory.clone())),
            Arc::new(InsightScores::new(
                handle.insights.clone(),
                handle.view().member,
            )),
            config.automation.clone(),
        )?;
        directory.register(Arc::new(AutomationErasure {
            handle: running.handle.clone(),
            runtime: tokio::runtime::Handle::current(),
        }));
        // The console is a client of this node's own API, over loopback.
        let console = guild_console::Console::new(&format!("http://{}", loopback(api_addr)))
            .map_err(|error| NodeError::Console {
                what: error.to_string(),
            })?;
        let (stop_console, console_stopped) = watch::channel(false);
        let mut console_tasks = Vec::new();
        let mut console_url = None;
        let mut on_api = None;
        if !config.console.disabled {
            match config.console.addr {
                None => {
                    on_api = Some(guild_console::router(console.clone()));
                    console_url = Some(format!(
                        "http://{}{}/",
                        loopback(api_addr),
                        guild_console::BASE
                    ));
                }
                Some(addr) => {
                    let (task, bound) = serve_console(
                        addr,
                        guild_console::router(console.clone()),
                        console_stopped.clone(),
                    )?;
                    console_tasks.push(task);
                    console_url = Some(format!(
                        "http://{}{}/",
                        loopback(bound),
                        guild_console::BASE
                    ));
                }
            }
        }
        if let Some(addr) = config.console.explorer {
            let (task, bound) = serve_console(
                addr,
                guild_console::explorer_router(console),
                console_stopped,
            )?;
            tracing::info!(explorer = %format!("http://{bound}{}/explorer", guild_console::BASE), "read-only explorer listening");
            console_tasks.push(task);
        }
        let (stop_api, api_stopped) = oneshot::channel::<()>();
        let api = tokio::spawn(crate::api::serve(
            listener,
            handle.clone(),
            tokens,
            directory.clone(),
            Some(running.handle.clone()),
            on_api,
            async move {
                let _ = api_stopped.await;
            },
        ));
        tracing::info!(%peer_id, api = %api_addr, "node started");
        if let Some(warning) = crate::api::exposure_warning(api_addr) {
            tracing::warn!("{warning}");
        }
        Ok(Node {
            handle,
            api_addr,
            peer_id,
            listening,
            engine,
            stop_engine: Some(stop_engine),
            network,
            api,
            stop_api: Some(stop_api),
            console: console_tasks,
            stop_console,
            console_url,
            insights: Some(insights_follower),
            automation: Some(running),
            store,
            directory,
            _lock: lock,
        })
    }

    /// A handle for reading the chain and submitting transactions.
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// The shop's customer directory (off the ledger): what automations
    /// read consent, emails and birthdays from, and where they register
    /// their derived data for erasure (`crate::directory`).
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Where the HTTP API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The web console's address (`http://…/console/`), if it is served.
    pub fn console_url(&self) -> Option<&str> {
        self.console_url.as_deref()
    }

    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the node listens on for peers, once known (waits up
    /// to a few seconds for the first one).
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        let mut rx = self.listening.clone();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            rx.wait_for(|list| !list.is_empty()),
        )
        .await;
        rx.borrow().clone()
    }

    /// The hash of the head block.
    pub fn head_hash(&self) -> Hash {
        self.handle.view().head.hash()
    }

    /// Waits until the engine stops on its own (a storage failure).
    pub async fn wait(&mut self) -> Result<(), NodeError> {
        match (&mut self.engine).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(NodeError::Engine(error)),
            Err(_) => Err(NodeError::Stopped("the engine thread ended".into())),
        }
    }

    /// Stops the node: the API first, then the insights, consensus and
    /// networking; the store is flushed last.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop_api.take() {
            let _ = stop.send(());
        }
        let _ = self.stop_console.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.api).await;
        for task in self.console.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
        if let Some(follower) = self.insights.take() {
            follower.stop().await;
        }
        if let Some(automation) = self.automation.take() {
            automation.stop().await;
        }
        if let Some(stop) = self.stop_engine.take() {
            let _ = stop.send(());
        }
        self.network.abort();
        let engine = (&mut self.engine).await;
        let _ = (&mut self.network).await;
        self.store.flush()?;
        match engine {
            Ok(Err(error)) => Err(NodeError::Engine(error)),
            _ => Ok(()),
        }
    }
}
