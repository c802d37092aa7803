//! The live change feed behind WatchMessages. Writers announce what they committed;
//! every watcher gets each new message and status change, whichever instance received
//! it: on PostgreSQL through LISTEN/NOTIFY (ids only on the wire), on SQLite in memory.
//! A watcher has a bounded buffer: one that falls behind is stopped with a clear status
//! instead of ever slowing ingestion (publishing never waits for a watcher).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};

use super::{AppState, ServiceError};
use crate::domain::access::Caller;
use crate::domain::filter::MessageQuery;

use crate::domain::message::ChangedMessage;
use crate::domain::message::{Message, MessageStatus};
use crate::store::changes::Listener;
use crate::store::{Backend, Store, messages};

/// Changes kept for watchers that are momentarily busy.
const FEED_CAPACITY: usize = 1024;
/// How often the PostgreSQL listener looks for notifications.
const LISTEN_POLL: Duration = Duration::from_millis(50);

/// A new message (`previous` None) or a status change, as watchers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub message: Message,
    pub previous: Option<MessageStatus>,
}

pub struct ChangeFeed {
    tx: broadcast::Sender<Arc<Change>>,
    shutdown: watch::Sender<bool>,
    store: Store,
    /// Changes handed to watchers so far (for tests and diagnostics).
    published: AtomicU64,
}

impl ChangeFeed {
    pub fn new(store: Store) -> Arc<Self> {
        let (tx, _) = broadcast::channel(FEED_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        Arc::new(ChangeFeed {
            tx,
            shutdown,
            store,
            published: AtomicU64::new(0),
        })
    }

    /// Starts the cross-instance listener when the database is PostgreSQL.
    pub fn start(self: &Arc<Self>, database_url: &str) {
        if self.store.backend() != Backend::Postgres {
            return;
        }
        // Weak: the thread ends by itself once the server's state is gone, even if
        // nobody called `shutdown` (a dropped server, a panicking test).
        let feed = Arc::downgrade(self);
        let stop = self.shutdown.subscribe();
        let url = database_url.to_string();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || Self::listen(feed, stop, &url, &runtime));
    }

    fn listen(
        feed: Weak<Self>,
        stop: watch::Receiver<bool>,
        url: &str,
        runtime: &tokio::runtime::Handle,
    ) {
        let mut listener: Option<Listener> = None;
        while !*stop.borrow() {
            let conn = match listener.as_mut() {
                Some(l) => l,
                None => match Listener::connect(url) {
                    Ok(l) => listener.insert(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener cannot connect; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                },
            };
            let changes = match conn.drain() {
                Ok(changes) => changes,
                Err(e) => {
                    tracing::warn!(error = %e, "change listener lost its connection; reconnecting");
                    listener = None;
                    continue;
                }
            };
            let Some(feed) = feed.upgrade() else { return };
            if changes.is_empty() {
                drop(feed);
                std::thread::sleep(LISTEN_POLL);
            } else {
                runtime.block_on(feed.fan_out(changes));
            }
        }
    }

    /// Every change from now on, and the signal that the server is stopping.
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<Change>>, watch::Receiver<bool>) {
        (self.tx.subscribe(), self.shutdown.subscribe())
    }

    /// To call after a write committed. SQLite: fan out now. PostgreSQL: the
    /// notification sent in the transaction reaches every instance's listener.
    pub async fn committed(&self, changes: Vec<ChangedMessage>) {
        if self.store.backend() == Backend::Sqlite && !changes.is_empty() {
            self.fan_out(changes).await;
        }
    }

    async fn fan_out(&self, changes: Vec<ChangedMessage>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let ids: Vec<String> = changes.iter().map(|c| c.message_id.clone()).collect();
        let loaded = match self.store.run(move |c| messages::get_many(c, &ids)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "change feed could not load messages");
                return;
            }
        };
        for change in changes {
            if let Some(m) = loaded.iter().find(|m| m.id == change.message_id) {
                // No receiver left is fine: nobody is watching.
                let _ = self.tx.send(Arc::new(Change {
                    message: m.clone(),
                    previous: change.previous,
                }));
                self.published.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// How many changes have been handed to watchers since start.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Ends every watch stream (server shutdown).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Changes buffered towards one watcher; one that falls further behind is stopped.
const WATCH_BUFFER: usize = 64;
/// How long a stopped watcher is given to take its last word.
const WATCH_GIVE_UP: Duration = Duration::from_secs(5);

/// WatchMessages: every change that matches `query` from now on, until the watcher
/// hangs up, falls behind (RESOURCE_EXHAUSTED, saying how to catch up) or the server
/// stops (UNAVAILABLE: watch again, another instance may answer). Counted as an open
/// stream for as long as it lasts.
pub fn watch(
    state: &AppState,
    caller: &Caller,
    query: MessageQuery,
) -> Result<mpsc::Receiver<Result<Arc<Change>, ServiceError>>, ServiceError> {
    let permit = state.streams.open(caller)?;
    let stuck_after = state.stuck_after;
    let (mut changes, mut stop) = state.feed.subscribe();
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(async move {
        let _permit = permit;
        loop {
            let change = tokio::select! {
                _ = stop.changed() => {
                    let _ = tx.send(Err(ServiceError::Unavailable(
                        "the server is shutting down; watch again (another instance may answer)".into(),
                    ))).await;
                    return;
                }
                _ = tx.closed() => return,
                got = changes.recv() => got,
            };
            match change {
                Ok(change) if query.matches(&change.message) => {
                    let mut change = (*change).clone();
                    change.message.stuck =
                        stuck_after.is_stuck(&change.message, chrono::Utc::now());
                    if tx.send(Ok(Arc::new(change))).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let behind = ServiceError::Exhausted(format!(
                        "this watcher fell {missed} changes behind and was stopped; \
                         read what changed meanwhile with ListMessages (created_after, statuses) \
                         and watch again"
                    ));
                    let _ = tokio::time::timeout(WATCH_GIVE_UP, tx.send(Err(behind))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(rx)
}
