//! What to check: the size of the MinBFT group, the workload, the adversary, the network
//! and the search strategy, with the bounds that keep the state space finite.

/// Which replica, if any, is Byzantine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ByzantineRole {
    /// Every replica is correct.
    None,
    /// The primary of view 0 (replica 0) is Byzantine.
    Primary,
    /// A backup of view 0 (the last replica) is Byzantine.
    Backup,
    /// The primary of view 1 (replica 1) is Byzantine: the new primary of the first view
    /// change.
    NextPrimary,
}

/// One move of the Byzantine replica's menu. It runs the real replica code and deviates
/// only through these moves, with its own symbolic USIG: it can never mint a UI of another
/// replica.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum ByzMove {
    /// Sends nothing at all (and processes nothing): a crashed or mute replica.
    Silent,
    /// Its broadcasts reach only the next replica (`id + 1 mod n`); the others never see
    /// them.
    Subset,
    /// Once, at any moment: calls `create_ui` on junk, leaving a hole in its own counter
    /// sequence that correct replicas' FIFO rule must cope with.
    BurnCounter,
    /// Once, after it saw a request: sends every other replica a PREPARE of that request
    /// under a fresh UI (rejected from a backup; ordering a request twice from a primary).
    Equivocate,
    /// Once: resends the last message it received from another replica to every other
    /// replica, as itself.
    Replay,
    /// Once: sends a spurious REQ-VIEW-CHANGE for the next view to every other replica.
    ReqViewChange,
    /// Each VIEW-CHANGE it sends goes unaltered to the next replica and, to the others,
    /// with its `O` set missing the last entry, under a fresh UI.
    AlterViewChange,
    /// Each NEW-VIEW it sends as a new primary goes out with the last batch of `S`
    /// dropped, built and signed with its own USIG at the counter value its correct
    /// NEW-VIEW would have had (the correct one is never sent). Correct backups recompute
    /// `S` and reject it.
    AlterNewView,
    /// Replies to every client request at once, with the result a fresh KV store would
    /// give, without waiting for it to be ordered (a lying reply: one of the `f + 1`).
    EagerReply,
    /// Once, after it sent a UI message: restarts itself from an empty write-ahead log
    /// with its surviving USIG (deliberate amnesia), so its RESTART retracts every message
    /// it sent; then runs the replica code again. Rules 2 and 3 of crash recovery are what
    /// make this harmless.
    Amnesia,
    /// Once, at any moment below the view bound: creates the VIEW-CHANGE it would send
    /// for the next view (the production code, run on a copy of itself) and sends it to
    /// every other replica, then carries on in its current view as if it had not; the
    /// messages it sends later are not in that VIEW-CHANGE's `O`.
    EarlyViewChange,
    /// NOT a legal move: a rewound USIG (outside the hybrid fault model). Once the primary
    /// saw requests of two clients, it prepares them under the *same* counter value (its
    /// first), one to each backup. It exists to show that the properties bite: it must
    /// break agreement.
    CompromisedUsig,
}

impl ByzMove {
    /// Every move, in a stable order.
    pub const ALL: [ByzMove; 12] = [
        ByzMove::Silent,
        ByzMove::Subset,
        ByzMove::BurnCounter,
        ByzMove::Equivocate,
        ByzMove::Replay,
        ByzMove::ReqViewChange,
        ByzMove::AlterViewChange,
        ByzMove::AlterNewView,
        ByzMove::EagerReply,
        ByzMove::Amnesia,
        ByzMove::EarlyViewChange,
        ByzMove::CompromisedUsig,
    ];

    /// True for moves made once, at a moment the checker chooses (a branch per moment).
    pub fn is_one_shot(self) -> bool {
        matches!(
            self,
            ByzMove::BurnCounter
                | ByzMove::Equivocate
                | ByzMove::Replay
                | ByzMove::ReqViewChange
                | ByzMove::Amnesia
                | ByzMove::EarlyViewChange
                | ByzMove::CompromisedUsig
        )
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ByzMove::Silent => "silent",
            ByzMove::Subset => "subset",
            ByzMove::BurnCounter => "burn-counter",
            ByzMove::Equivocate => "equivocate",
            ByzMove::Replay => "replay",
            ByzMove::ReqViewChange => "req-view-change",
            ByzMove::AlterViewChange => "alter-view-change",
            ByzMove::AlterNewView => "alter-new-view",
            ByzMove::EagerReply => "eager-reply",
            ByzMove::Amnesia => "amnesia",
            ByzMove::EarlyViewChange => "early-view-change",
            ByzMove::CompromisedUsig => "compromised-usig",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(s: &str) -> Option<ByzMove> {
        ByzMove::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// How the checker explores.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Mode {
    /// Breadth-first, exhaustive (within the bounds): shortest counterexamples.
    Bfs,
    /// Depth-first, exhaustive (within the bounds): less memory.
    Dfs,
    /// Random walks from the initial state, seeded; needs `states_max`.
    Simulation {
        /// The seed of the walks.
        seed: u64,
    },
}

/// A model-checking run of MinBFT.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CheckConfig {
    /// `n = 2f + 1` replicas.
    pub replicas: u32,
    /// Client actors.
    pub clients: u32,
    /// Requests each client issues, one outstanding at a time.
    pub requests: u32,
    /// Bound on views: a correct replica's `T_exec`/`T_vc` timers fire only while its view
    /// is below this, so at most this many view changes start. 0 = no view change.
    pub view_changes: u64,
    /// Retransmissions each client may make over the whole run (its retransmission timer
    /// fires at most this often).
    pub retransmits: u32,
    /// `batch_size_max` of the group: the most requests per PREPARE or ORDER-REQ (1: no
    /// batching; above 1 the primary's batch timer may fire at any moment and flushes
    /// what is queued).
    pub batch_size: u32,
    /// Which replica is Byzantine.
    pub byzantine: ByzantineRole,
    /// The Byzantine replica's menu (ignored when `byzantine` is `None`).
    pub byzantine_moves: Vec<ByzMove>,
    /// MinBFT only (`--moves lie-installed-view`; the MinZyzyva model ignores it): each
    /// VIEW-CHANGE the Byzantine replica sends for a view it will not lead goes to every
    /// other replica with `installed_view` raised to the new view minus one (the highest
    /// claim below the new view) and `adopted` emptied, under a fresh UI of its own USIG
    /// (the unsent original is in the lie's `O`, so `O` has no hole): it claims to have
    /// installed a view whose `S` kept nothing, so that the next `S` drops older batches.
    /// A standing deviation of one message kind, kept apart from the shared menu.
    pub lie_installed_view: bool,
    /// With `lie_installed_view` (`--moves lie-installed-view-with-checkpoint`): the liar
    /// first signs a CHECKPOINT of the view it claims (its own UI, on made-up state) and
    /// puts it in the lie's `O` (the evidence the former own-CHECKPOINT bound accepted;
    /// correct replicas now ask for the installed NEW-VIEW and reject it).
    pub lie_with_checkpoint: bool,
    /// The network may drop any message.
    pub lossy: bool,
    /// The network may deliver any message more than once.
    pub duplicating: bool,
    /// Search strategy.
    pub mode: Mode,
    /// Checker threads.
    pub threads: usize,
    /// Stop exploring below this depth (`None`: unbounded).
    pub depth_max: Option<usize>,
    /// Stop after this many states (`None`: unbounded; required by simulation).
    pub states_max: Option<usize>,
    /// The replica that may crash and recover (from its write-ahead log and surviving USIG
    /// counter) at any point, or `None`. Every replica is then durable
    /// (`Config::durable`); the crashing one counts as correct.
    pub crash_replica: Option<u32>,
    /// Bound on the crashing replica's crash-recover cycles.
    pub restarts: u32,
    /// Counter values each crash consumes inside the write-ahead window (after
    /// `create_ui`, before the step's records are durable): values that were never sent
    /// nor logged, which the recovered replica announces with RESTART.
    pub lost_counter_values: u64,
    /// TEST-ONLY (feature `mutants`): the seeded bug every replica runs with.
    #[cfg(feature = "mutants")]
    pub mutant: Option<minlab_protocols::minbft::Mutant>,
}

impl Default for CheckConfig {
    /// 3 replicas, 1 client with 1 request, no view change or retransmission, all correct,
    /// a reliable non-duplicating network, BFS on one thread.
    fn default() -> Self {
        CheckConfig {
            replicas: 3,
            clients: 1,
            requests: 1,
            view_changes: 0,
            retransmits: 0,
            batch_size: 1,
            byzantine: ByzantineRole::None,
            byzantine_moves: vec![ByzMove::Silent],
            lie_installed_view: false,
            lie_with_checkpoint: false,
            lossy: false,
            duplicating: false,
            mode: Mode::Bfs,
            threads: 1,
            depth_max: None,
            states_max: None,
            crash_replica: None,
            restarts: 1,
            lost_counter_values: 0,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }
}

/// A configuration the checker cannot run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid check configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl CheckConfig {
    /// Checks the bounds the model relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError(m.to_string()));
        if self.replicas < 3 || self.replicas.is_multiple_of(2) || self.replicas > 7 {
            return bad("replicas must be 2f + 1 with 1 <= f <= 3");
        }
        if self.clients == 0 || self.clients > 8 {
            return bad("clients must be between 1 and 8");
        }
        if self.requests > 16 {
            return bad("requests must be at most 16 per client");
        }
        if self.batch_size == 0 || self.batch_size > 8 {
            return bad("batch size must be between 1 and 8");
        }
        if self.threads == 0 {
            return bad("threads must be at least 1");
        }
        if matches!(self.mode, Mode::Simulation { .. }) && self.states_max.is_none() {
            return bad("simulation needs a state bound (states_max)");
        }
        if self.byzantine != ByzantineRole::None
            && self.byzantine_moves.is_empty()
            && !self.lie_installed_view
        {
            return bad("a Byzantine replica needs at least one move");
        }
        if let Some(r) = self.crash_replica {
            if r >= self.replicas {
                return bad("the crashing replica must be one of the replicas");
            }
            if self.byzantine_replica() == Some(r) {
                return bad("the crashing replica must not be the Byzantine one");
            }
            if self.restarts == 0 || self.restarts > 3 {
                return bad("restarts must be between 1 and 3");
            }
        }
        if self.lost_counter_values > 4 {
            return bad("lost counter values must be at most 4");
        }
        Ok(())
    }

    /// The Byzantine replica's id, if any.
    pub fn byzantine_replica(&self) -> Option<u32> {
        match self.byzantine {
            ByzantineRole::None => None,
            ByzantineRole::Primary => Some(0),
            ByzantineRole::Backup => Some(self.replicas - 1),
            ByzantineRole::NextPrimary => Some(1),
        }
    }

    /// True when a Byzantine replica lies about `installed_view` (see
    /// [`CheckConfig::lie_installed_view`]).
    pub fn lies_installed_view(&self) -> bool {
        self.byzantine != ByzantineRole::None && self.lie_installed_view
    }

    /// True when `m` is on the Byzantine replica's menu.
    pub fn has_move(&self, m: ByzMove) -> bool {
        self.byzantine != ByzantineRole::None && self.byzantine_moves.contains(&m)
    }
}
