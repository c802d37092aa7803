//! Open streams (WatchMessages, ExportMessages, the console's CSV download), counted
//! overall and per token. A stream outlives the call that opened it, so the limit on
//! calls in progress does not see it; without this cap one caller could hold
//! thousands of watchers, each with its buffer and task.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ServiceError;
use crate::domain::access::Caller;

pub struct StreamGate {
    max_total: usize,
    max_per_token: usize,
    open: Arc<Mutex<OpenStreams>>,
}

#[derive(Default)]
struct OpenStreams {
    total: usize,
    by_token: HashMap<String, usize>,
}

/// Held for as long as one stream is open; dropping it frees its place.
pub struct StreamPermit {
    token: String,
    open: Arc<Mutex<OpenStreams>>,
}

impl StreamGate {
    pub fn new(max_total: usize, max_per_token: usize) -> Self {
        StreamGate {
            max_total,
            max_per_token,
            open: Arc::default(),
        }
    }

    /// A place for one more stream of `caller`, or RESOURCE_EXHAUSTED saying which
    /// limit was reached.
    pub fn open(&self, caller: &Caller) -> Result<StreamPermit, ServiceError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.by_token.get(&caller.name).copied().unwrap_or(0);
        if mine >= self.max_per_token {
            return Err(ServiceError::Exhausted(format!(
                "this token ({}) already has {mine} open streams (WatchMessages, ExportMessages), \
                 the limit per token (max_open_streams_per_token); close one first",
                caller.name
            )));
        }
        if open.total >= self.max_total {
            return Err(ServiceError::Exhausted(format!(
                "the server already has {} open streams, its limit (max_open_streams); retry later",
                open.total
            )));
        }
        open.total += 1;
        *open.by_token.entry(caller.name.clone()).or_default() += 1;
        Ok(StreamPermit {
            token: caller.name.clone(),
            open: self.open.clone(),
        })
    }

    /// Streams open now.
    pub fn open_count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.by_token.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.by_token.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{HotelScope, Role};

    fn caller(name: &str) -> Caller {
        Caller {
            name: name.into(),
            role: Role::Agent,
            hotels: HotelScope::All,
        }
    }

    #[test]
    fn caps_per_token_and_overall_and_frees_on_drop() {
        let gate = StreamGate::new(3, 2);
        let a1 = gate.open(&caller("a")).unwrap();
        let _a2 = gate.open(&caller("a")).unwrap();
        let per_token = gate.open(&caller("a")).err().unwrap();
        assert!(matches!(&per_token, ServiceError::Exhausted(m) if m.contains("per token")));
        let _b1 = gate.open(&caller("b")).unwrap();
        let overall = gate.open(&caller("c")).err().unwrap();
        assert!(matches!(&overall, ServiceError::Exhausted(m) if m.contains("max_open_streams")));
        drop(a1);
        assert_eq!(gate.open_count(), 2);
        gate.open(&caller("a")).expect("a place was freed");
    }
}
