//! Activities and their queues: which poll gets which task, exactly once, and nothing lost when a poll's client hangs up.
//!
//! The tasks themselves live in the one [`Store`](crate::tasks::Store); an activity here is
//! a name, an ARN, a FIFO queue of task ids and a FIFO of waiting polls. A task leaves the
//! queue as an [`Offer`] to one poll. The offer is settled only when the poll's answer has
//! been handed to the connection ([`Offer::commit`]); dropped unsettled (the client hung up,
//! a fault reset the connection, the server stopped), it goes back to the head of the queue
//! or straight to the next waiting poll.
//!
//! Lock order: the registry, then a store shard; an offer is never dropped while the
//! registry is locked (its drop takes the lock).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;

use super::Mock;
use crate::tasks::{Handover, TaskId};

/// The activities of one mock.
#[derive(Debug, Default)]
pub(crate) struct Activities {
    registry: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    /// In creation order; an index is an activity's id for its whole life.
    list: Vec<Activity>,
    by_arn: HashMap<Arc<str>, usize>,
    next_waiter: u64,
}

#[derive(Debug)]
struct Activity {
    name: String,
    arn: Arc<str>,
    created_ms: u64,
    deleted: bool,
    queue: VecDeque<TaskId>,
    waiters: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    offers: oneshot::Sender<Offer>,
}

/// An activity as the control API and `ListActivities` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityInfo {
    /// Its ARN.
    pub activity_arn: String,
    /// Its name.
    pub name: String,
    /// When it was created, in ms since the Unix epoch (on the mock's clock).
    #[serde(skip)]
    pub created_ms: u64,
    /// Tasks scheduled and not yet taken.
    pub queued_tasks: usize,
    /// Polls waiting for a task now.
    pub waiting_polls: usize,
}

/// The activity does not exist (never created, or deleted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no activity {0}")]
pub struct NoSuchActivity(pub String);

impl Activities {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// Creates the activity `name` under `arn`, or returns the one that exists (idempotent
    /// by name; a deleted one comes back with a new creation date).
    pub(crate) fn create(&self, name: &str, arn: &str, now_ms: u64) -> ActivityInfo {
        let mut registry = self.lock();
        let index = match registry.by_arn.get(arn) {
            Some(&i) => {
                let activity = &mut registry.list[i];
                if activity.deleted {
                    activity.deleted = false;
                    activity.created_ms = now_ms;
                }
                i
            }
            None => {
                let arn: Arc<str> = Arc::from(arn);
                registry.list.push(Activity {
                    name: name.to_owned(),
                    arn: arn.clone(),
                    created_ms: now_ms,
                    deleted: false,
                    queue: VecDeque::new(),
                    waiters: VecDeque::new(),
                });
                let i = registry.list.len() - 1;
                registry.by_arn.insert(arn, i);
                i
            }
        };
        registry.list[index].info()
    }

    /// The live activity `arn`.
    pub(crate) fn get(&self, arn: &str) -> Option<ActivityInfo> {
        let registry = self.lock();
        registry.live(arn).map(|i| registry.list[i].info())
    }

    /// Every live activity, in creation order.
    pub(crate) fn list(&self) -> Vec<ActivityInfo> {
        self.lock().list.iter().filter(|a| !a.deleted).map(Activity::info).collect()
    }

    /// Deletes `arn` (idempotent): its waiting polls are answered `{}` at once.
    pub(crate) fn delete(&self, arn: &str) {
        let waiters = {
            let mut registry = self.lock();
            let Some(i) = registry.live(arn) else { return };
            let activity = &mut registry.list[i];
            activity.deleted = true;
            std::mem::take(&mut activity.waiters)
        };
        // Outside the lock: a waiter's channel may hold nothing, but keep the rule simple.
        drop(waiters);
    }

    /// Forgets every queued task and answers every waiting poll `{}`; activities stay.
    pub(crate) fn reset(&self) {
        let waiters: Vec<_> = {
            let mut registry = self.lock();
            registry
                .list
                .iter_mut()
                .flat_map(|a| {
                    a.queue.clear();
                    std::mem::take(&mut a.waiters)
                })
                .collect()
        };
        drop(waiters);
    }

    /// The arn's index and its shared name, if the activity is live.
    pub(crate) fn resolve(&self, arn: &str) -> Result<(usize, Arc<str>), NoSuchActivity> {
        let registry = self.lock();
        registry
            .live(arn)
            .map(|i| (i, registry.list[i].arn.clone()))
            .ok_or_else(|| NoSuchActivity(arn.to_owned()))
    }

    /// Queues `task` on activity `index`, or hands it to the longest-waiting poll.
    pub(crate) fn enqueue(&self, mock: &Mock, index: usize, task: Handover) {
        self.offer(mock, index, task, End::Back);
    }

    /// Gives `task` to the first waiting poll that still listens, else puts it in the queue
    /// at `end`.
    fn offer(&self, mock: &Mock, index: usize, task: Handover, end: End) {
        let mut registry = self.lock();
        let Some(activity) = registry.list.get_mut(index) else { return };
        let mut offer = Offer { task: Some(task), activity: index, mock: mock.clone() };
        while let Some(waiter) = activity.waiters.pop_front() {
            match waiter.offers.send(offer) {
                Ok(()) => return,
                Err(back) => offer = back,
            }
        }
        let id = offer.disarm().task_id;
        match end {
            End::Back => activity.queue.push_back(id),
            End::Front => activity.queue.push_front(id),
        }
    }

    /// A poll on `index`: the oldest deliverable queued task at once, or a place in line.
    pub(crate) fn poll(&self, mock: &Mock, index: usize) -> Result<Take, NoSuchActivity> {
        // The hold runs from here, before the poll is counted waiting, so that a test which
        // sees it waiting and then advances the clock by the hold ends it.
        let since_ms = mock.clock().now_ms();
        let mut registry = self.lock();
        let next_waiter = registry.next_waiter;
        let activity = &mut registry.list[index];
        if activity.deleted {
            return Err(NoSuchActivity(activity.arn.to_string()));
        }
        while let Some(id) = activity.queue.pop_front() {
            // Completed, timed out, deleted or forgotten tasks are skipped for good.
            if let Some(task) = mock.inner.store.handover(id) {
                return Ok(Take::Now(Offer {
                    task: Some(task),
                    activity: index,
                    mock: mock.clone(),
                }));
            }
        }
        let (offers, receiver) = oneshot::channel();
        activity.waiters.push_back(Waiter { id: next_waiter, offers });
        registry.next_waiter += 1;
        Ok(Take::Wait(Waiting {
            place: Place { id: next_waiter, activity: index, registry: self.registry.clone() },
            receiver,
            since_ms,
        }))
    }

    /// Polls waiting on `arn` now.
    pub(crate) fn waiting_polls(&self, arn: &str) -> Option<usize> {
        let registry = self.lock();
        registry.live(arn).map(|i| registry.list[i].waiting())
    }
}

impl Registry {
    fn live(&self, arn: &str) -> Option<usize> {
        self.by_arn.get(arn).copied().filter(|&i| !self.list[i].deleted)
    }
}

impl Activity {
    /// Polls in line that still listen (a hung-up one leaves the line as its future drops).
    fn waiting(&self) -> usize {
        self.waiters.iter().filter(|w| !w.offers.is_closed()).count()
    }

    fn info(&self) -> ActivityInfo {
        ActivityInfo {
            activity_arn: self.arn.to_string(),
            name: self.name.clone(),
            created_ms: self.created_ms,
            queued_tasks: self.queue.len(),
            waiting_polls: self.waiting(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum End {
    Back,
    Front,
}

/// What a poll got: a task now, or a place in line.
#[derive(Debug)]
pub(crate) enum Take {
    /// A task, offered.
    Now(Offer),
    /// No task queued: wait for one.
    Wait(Waiting),
}

/// A task on its way to one poll. Dropped before [`Offer::commit`], it is put back.
#[derive(Debug)]
pub(crate) struct Offer {
    task: Option<Handover>,
    activity: usize,
    mock: Mock,
}

impl Offer {
    /// The task offered.
    pub(crate) fn task(&self) -> &Handover {
        self.task.as_ref().expect("an armed offer holds its task")
    }

    /// The answer carrying it was handed to the connection: the task is delivered, and its
    /// deadlines start.
    pub(crate) fn commit(mut self, worker_name: Option<&str>) {
        if let Some(task) = self.task.take() {
            self.mock.inner.store.deliver(task.task_id, worker_name);
        }
    }

    fn disarm(mut self) -> Handover {
        self.task.take().expect("an armed offer holds its task")
    }
}

impl Drop for Offer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            tracing::debug!(task = %task.task_id, "a poll's answer was not written; task requeued");
            let mock = self.mock.clone();
            mock.inner.activities.offer(&mock, self.activity, task, End::Front);
        }
    }
}

/// A poll's place in line; leaving it (drop) takes the poll out of the line.
#[derive(Debug)]
struct Place {
    id: u64,
    activity: usize,
    registry: Arc<Mutex<Registry>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut registry = lock(&self.registry);
        if let Some(activity) = registry.list.get_mut(self.activity) {
            activity.waiters.retain(|w| w.id != self.id);
        }
    }
}

/// A poll waiting in line for a task.
#[derive(Debug)]
pub(crate) struct Waiting {
    // Field order matters: the place is left (lock taken and released) before the channel,
    // which may hold an offer whose drop takes the lock again, is dropped.
    place: Place,
    receiver: oneshot::Receiver<Offer>,
    /// When the poll got in line, on the mock's clock.
    since_ms: u64,
}

impl Waiting {
    /// Waits until `hold` after the poll got in line on the mock's clock (and at most `hold`
    /// of real time): the task offered, or `None` when the hold ended or the activity was
    /// deleted.
    pub(crate) async fn wait(mut self, mock: &Mock, hold: Duration) -> Option<Offer> {
        let clock = mock.clock();
        let until =
            self.since_ms.saturating_add(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX));
        let virtual_hold = clock.reached(until);
        tokio::select! {
            offered = &mut self.receiver => return offered.ok(),
            () = virtual_hold, if clock.is_virtual() => {}
            () = tokio::time::sleep(hold) => {}
        }
        self.end()
    }

    /// Leaves the line now: an offer that raced the end of the hold is still taken.
    pub(crate) fn end(self) -> Option<Offer> {
        let Waiting { place, mut receiver, .. } = self;
        drop(place);
        receiver.try_recv().ok()
    }
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // Every update under this lock is a few pushes and pops: a panic cannot leave the
    // registry inconsistent.
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// A poll's task, with what its commit records.
#[derive(Debug)]
pub(crate) struct Delivery {
    offer: Offer,
    worker_name: Option<String>,
}

impl Delivery {
    /// The task offered to a poll by `worker_name`.
    pub(crate) fn new(offer: Offer, worker_name: Option<String>) -> Delivery {
        Delivery { offer, worker_name }
    }

    /// See [`Offer::commit`].
    pub(crate) fn commit(self) {
        let Delivery { offer, worker_name } = self;
        offer.commit(worker_name.as_deref());
    }
}

/// What a poll holds beyond its immediate answer.
#[derive(Debug)]
pub(crate) enum Polled {
    /// It got a task at once; the answer carries it.
    Got(Delivery),
    /// It waits; the answer given is the idle one, replaced if a task comes. Boxed: every
    /// answer carries a `Polled`, and a held poll is large.
    Held(Box<HeldPoll>),
}

/// A GetActivityTask waiting for a task.
#[derive(Debug)]
pub(crate) struct HeldPoll {
    pub(crate) waiting: Waiting,
    pub(crate) worker_name: Option<String>,
    pub(crate) request_id: String,
    /// Renders the answer: with the task, or idle.
    pub(crate) render: fn(Option<&Handover>, &str) -> http::Response<bytes::Bytes>,
    /// What the journal keeps, written when the poll ends.
    pub(crate) journal: Option<PollRecord>,
}

/// A held poll's request, for its journal entry.
#[derive(Debug)]
pub(crate) struct PollRecord {
    pub(crate) at_ms: u64,
    pub(crate) method: http::Method,
    /// The request target's path and query.
    pub(crate) path: String,
    pub(crate) provider: crate::Provider,
    /// The operation as the request named it.
    pub(crate) operation: Option<Vec<u8>>,
    /// As much of the body as the journal keeps.
    pub(crate) body_prefix: Vec<u8>,
    /// The body's full length in bytes.
    pub(crate) body_bytes: usize,
}

impl HeldPoll {
    /// Holds the poll (see [`Waiting::wait`]); its answer, and the task it carries if any.
    pub(crate) async fn wait(
        self,
        mock: &Mock,
    ) -> (http::Response<bytes::Bytes>, Option<Delivery>) {
        let HeldPoll { waiting, worker_name, request_id, render, journal } = self;
        let offer = waiting.wait(mock, mock.inner.poll_hold).await;
        finish(mock, offer, worker_name, &request_id, render, journal)
    }

    /// Ends the poll at once (the synchronous engine cannot hold).
    pub(crate) fn now(self, mock: &Mock) -> (http::Response<bytes::Bytes>, Option<Delivery>) {
        let HeldPoll { waiting, worker_name, request_id, render, journal } = self;
        finish(mock, waiting.end(), worker_name, &request_id, render, journal)
    }
}

fn finish(
    mock: &Mock,
    offer: Option<Offer>,
    worker_name: Option<String>,
    request_id: &str,
    render: fn(Option<&Handover>, &str) -> http::Response<bytes::Bytes>,
    journal: Option<PollRecord>,
) -> (http::Response<bytes::Bytes>, Option<Delivery>) {
    let response = render(offer.as_ref().map(Offer::task), request_id);
    if let Some(record) = journal {
        mock.inner.journal.record(&super::journal::Record {
            at_ms: record.at_ms,
            provider: record.provider,
            method: &record.method,
            path: &record.path,
            operation: record.operation.as_deref(),
            body: &record.body_prefix,
            body_bytes: record.body_bytes,
            status: response.status().as_u16(),
            error_code: None,
            task_id: offer.as_ref().map(|o| o.task().task_id),
        });
    }
    (response, offer.map(|offer| Delivery { offer, worker_name }))
}

/// A response body that settles a delivery when hyper takes it for writing, and puts the
/// task back if it is dropped first.
#[derive(Debug)]
pub(crate) struct AnswerBody {
    data: Option<bytes::Bytes>,
    delivery: Option<Delivery>,
}

impl AnswerBody {
    /// `data`, settling `delivery` once taken.
    pub(crate) fn new(data: bytes::Bytes, delivery: Option<Delivery>) -> AnswerBody {
        AnswerBody { data: Some(data), delivery }
    }
}

impl hyper::body::Body for AnswerBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        if let Some(delivery) = self.delivery.take() {
            delivery.commit();
        }
        let data = self.data.take().filter(|d| !d.is_empty());
        std::task::Poll::Ready(data.map(|d| Ok(hyper::body::Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.delivery.is_none() && self.data.as_ref().is_none_or(|d| d.is_empty())
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockConfig;

    /// A poll counted waiting, then the virtual clock moved by the hold before the poll's
    /// wait began: the hold still runs from when it got in line, so it ends at once.
    #[tokio::test]
    async fn the_hold_runs_from_when_the_poll_got_in_line() {
        let hold = Duration::from_secs(60);
        let mock = Mock::new(MockConfig::default().poll_hold(hold)).unwrap();
        let arn = mock.create_activity("held").unwrap().activity_arn;
        let (index, _) = mock.inner.activities.resolve(&arn).unwrap();
        let Take::Wait(waiting) = mock.inner.activities.poll(&mock, index).unwrap() else {
            panic!("no task is queued, so the poll must wait");
        };
        assert_eq!(mock.waiting_polls(&arn), Some(1));
        mock.advance_clock(hold).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(5), waiting.wait(&mock, hold)).await;
        assert!(matches!(ended, Ok(None)), "the hold did not end on the virtual clock");
        assert_eq!(mock.waiting_polls(&arn), Some(0));
    }
}
