package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// slots bounds the transactions in flight: taken when a transaction is
// scheduled, given back when it commits or is refused.
type slots struct {
	mu      sync.Mutex
	cond    *sync.Cond
	used    int
	limit   int
	stopped bool
}

func newSlots(limit int) *slots {
	s := &slots{limit: limit}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// tryTake takes one slot if one is free.
func (s *slots) tryTake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used >= s.limit {
		return false
	}
	s.used++
	return true
}

// take waits for n slots; it returns false once stopped.
func (s *slots) take(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.stopped && s.used+n > s.limit {
		s.cond.Wait()
	}
	if s.stopped {
		return false
	}
	s.used += n
	return true
}

func (s *slots) give(n int) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	s.used -= n
	s.mu.Unlock()
	s.cond.Broadcast()
}

func (s *slots) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

func (s *slots) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// notStarted is a window bound not yet set.
const notStarted = time.Duration(1<<63 - 1)

// tracker follows each submitted transaction from its submission to its
// commit, and keeps the latencies of those submitted in the window.
type tracker struct {
	start time.Time
	slots *slots

	mu         sync.Mutex
	pending    map[txHash]time.Duration // submission time, since start
	winStart   time.Duration
	winEnd     time.Duration
	latencies  []float64 // ms, of the window's transactions
	winPending int       // the window's transactions not yet committed
	expired    uint64    // the window's transactions given up on

	committed atomic.Uint64 // transactions seen committed, all
	failed    atomic.Uint64
}

func newTracker(start time.Time, s *slots) *tracker {
	return &tracker{start: start, slots: s, pending: map[txHash]time.Duration{}, winStart: notStarted, winEnd: notStarted}
}

func (t *tracker) inWindow(at time.Duration) bool { return at >= t.winStart && at < t.winEnd }

// add stamps transactions as submitted now.
func (t *tracker) add(hs []txHash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Since(t.start)
	for _, h := range hs {
		if old, ok := t.pending[h]; ok && t.inWindow(old) {
			t.winPending--
		}
		t.pending[h] = now
		if t.inWindow(now) {
			t.winPending++
		}
	}
}

// remove forgets transactions that were refused or given up on (their
// slots are the caller's to give back).
func (t *tracker) remove(hs []txHash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		if at, ok := t.pending[h]; ok {
			delete(t.pending, h)
			if t.inWindow(at) {
				t.winPending--
			}
		}
	}
}

// commit records a commit seen now, and gives back the slots of the
// transactions it tracked.
func (t *tracker) commit(ev commitEvent) {
	t.mu.Lock()
	now := time.Since(t.start)
	found := 0
	for _, h := range ev.Txs {
		at, ok := t.pending[h]
		if !ok {
			continue
		}
		found++
		delete(t.pending, h)
		if t.inWindow(at) {
			t.winPending--
			t.latencies = append(t.latencies, float64(now-at)/float64(time.Millisecond))
		}
	}
	t.mu.Unlock()
	t.committed.Add(uint64(len(ev.Txs)))
	t.failed.Add(uint64(ev.Failed))
	t.slots.give(found)
}

// expire gives up on transactions submitted more than age ago (their
// commit was missed): it frees their slots.
func (t *tracker) expire(age time.Duration) {
	t.mu.Lock()
	cut := time.Since(t.start) - age
	n := 0
	for h, at := range t.pending {
		if at < cut {
			delete(t.pending, h)
			n++
			if t.inWindow(at) {
				t.winPending--
				t.expired++
			}
		}
	}
	t.mu.Unlock()
	t.slots.give(n)
}

func (t *tracker) startWindow() {
	t.mu.Lock()
	t.winStart = time.Since(t.start)
	t.mu.Unlock()
}

func (t *tracker) endWindow() {
	t.mu.Lock()
	t.winEnd = time.Since(t.start)
	t.mu.Unlock()
}

// windowLeft is the window's transactions not yet committed.
func (t *tracker) windowLeft() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.winPending
}

// result returns the window's latencies and how many are unfinished.
func (t *tracker) result() ([]float64, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]float64(nil), t.latencies...), uint64(t.winPending) + t.expired
}

// threads are the OS threads of the load generator's goroutines (in
// process: their CPU time is not the nodes').
type threads struct {
	mu   sync.Mutex
	tids []int
}

// lock wires the calling goroutine to its thread for the rest of its life
// and counts that thread as the bench's; the returned func unwires it
// (call it before the goroutine ends, so that the thread lives on). A nil
// threads does nothing.
func (t *threads) lock() func() {
	if t == nil {
		return func() {}
	}
	runtime.LockOSThread()
	t.mu.Lock()
	t.tids = append(t.tids, threadID())
	t.mu.Unlock()
	return runtime.UnlockOSThread
}

// reset forgets the registered threads (a new phase registers its own).
func (t *threads) reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.tids = nil
	t.mu.Unlock()
}

// cpu is the CPU time of the registered threads.
func (t *threads) cpu() time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	tids := append([]int(nil), t.tids...)
	t.mu.Unlock()
	var sum time.Duration
	for _, tid := range tids {
		d, err := threadCPU(tid)
		if err == nil {
			sum += d
		}
	}
	return sum
}

// threadCPU reads a thread's CPU time: from schedstat (nanoseconds) where
// the kernel has it, else from stat (clock ticks).
func threadCPU(tid int) (time.Duration, error) {
	dir := "/proc/self/task/" + strconv.Itoa(tid)
	if raw, err := os.ReadFile(dir + "/schedstat"); err == nil {
		if f := bytes.Fields(raw); len(f) > 0 {
			if ns, err := strconv.ParseUint(string(f[0]), 10, 64); err == nil {
				return time.Duration(ns), nil
			}
		}
	}
	return procCPU(dir + "/stat")
}

// load generates transactions, schedules them (open or closed loop),
// submits them in batches round-robin across the nodes, and follows
// their commits.
type load struct {
	cfg     Config
	cl      cluster
	pl      payload
	th      *threads
	slots   *slots
	tracker *tracker

	txs     chan []byte   // made ahead by the generator
	batches chan [][]byte // scheduled, to submit
	next    atomic.Uint64 // the next transaction's index

	offered   atomic.Uint64
	submitted atomic.Uint64
	shed      atomic.Uint64
	rejected  atomic.Uint64
	txCount   atomic.Uint64
	txBytes   atomic.Uint64
	missed    atomic.Uint64
	rr        atomic.Uint64

	mu      sync.Mutex
	rejects []string // the first distinct rejection messages
	err     error    // a submission that kept failing

	gen, sched, subs, follow sync.WaitGroup
	stopGen, stopSched       context.CancelFunc
	abort                    context.Context // cancels submissions in flight
}

const maxRejectMessages = 5

func newLoad(cfg Config, cl cluster, pl payload, th *threads, start time.Time) *load {
	s := newSlots(cfg.InFlight)
	return &load{
		cfg: cfg, cl: cl, pl: pl, th: th, slots: s, tracker: newTracker(start, s),
		txs:     make(chan []byte, generatorBuffer),
		batches: make(chan [][]byte, cfg.Submitters),
	}
}

// run starts the goroutines: follow the commits, make transactions,
// schedule, submit. abort cancels submissions in flight.
func (l *load) run(abort context.Context) {
	l.abort = abort
	l.follow.Add(1)
	go l.followCommits()

	genCtx, stopGen := context.WithCancel(context.Background())
	l.stopGen = stopGen
	workers := 1
	if l.pl.parallel() {
		workers = runtime.GOMAXPROCS(0)
	}
	for range workers {
		l.gen.Add(1)
		go l.generate(genCtx)
	}
	schedCtx, stopSched := context.WithCancel(context.Background())
	l.stopSched = stopSched
	l.sched.Add(1)
	if l.cfg.Rate > 0 {
		go l.openLoop(schedCtx)
	} else {
		go l.closedLoop(schedCtx)
	}
	for range l.cfg.Submitters {
		l.subs.Add(1)
		go l.submitter(schedCtx)
	}
}

// stop ends the scheduling and waits for the submissions already
// scheduled; the commits are still followed.
func (l *load) stop() {
	l.stopSched()
	l.slots.stop()
	l.sched.Wait()
	l.subs.Wait()
	l.stopGen()
	l.gen.Wait()
}

func (l *load) generate(ctx context.Context) {
	defer l.gen.Done()
	defer l.th.lock()()
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	rng := mrand.NewChaCha8(seed)
	for {
		k := l.next.Add(1) - 1
		tx := l.pl.make(k, rng)
		select {
		case l.txs <- tx:
		case <-ctx.Done():
			return
		}
	}
}

// flushEvery is how long the open loop gathers transactions before it
// submits them (or until a batch is full).
const flushEvery = 5 * time.Millisecond

func (l *load) openLoop(ctx context.Context) {
	defer l.sched.Done()
	defer close(l.batches)
	defer l.th.lock()()
	start := time.Now() // before the ticker: no tick is earlier
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	lastFlush := start
	var scheduled uint64
	var batch [][]byte
	for {
		select {
		case <-ctx.Done():
			l.slots.give(len(batch))
			return
		case now := <-tick.C:
			var due uint64
			if target := uint64(max(0, l.cfg.Rate*now.Sub(start).Seconds())); target > scheduled {
				due = target - scheduled
			}
			for range due {
				scheduled++
				l.offered.Add(1)
				if !l.slots.tryTake() {
					l.shed.Add(1)
					continue
				}
				select {
				case tx := <-l.txs:
					batch = append(batch, tx)
				default: // the generator is behind
					l.slots.give(1)
					l.shed.Add(1)
					continue
				}
				if len(batch) == l.cfg.Batch {
					if !l.send(ctx, batch) {
						return
					}
					batch, lastFlush = nil, now
				}
			}
			if len(batch) > 0 && now.Sub(lastFlush) >= flushEvery {
				if !l.send(ctx, batch) {
					return
				}
				batch, lastFlush = nil, now
			}
		}
	}
}

func (l *load) closedLoop(ctx context.Context) {
	defer l.sched.Done()
	defer close(l.batches)
	defer l.th.lock()()
	for {
		if !l.slots.take(l.cfg.Batch) {
			return
		}
		batch := make([][]byte, 0, l.cfg.Batch)
		for len(batch) < l.cfg.Batch {
			select {
			case tx := <-l.txs:
				batch = append(batch, tx)
			case <-ctx.Done():
				l.slots.give(l.cfg.Batch)
				return
			}
		}
		l.offered.Add(uint64(len(batch)))
		if !l.send(ctx, batch) {
			return
		}
	}
}

// send queues a batch for the submitters; false once stopped (the batch's
// slots are given back).
func (l *load) send(ctx context.Context, batch [][]byte) bool {
	select {
	case l.batches <- batch:
		return true
	case <-ctx.Done():
		l.slots.give(len(batch))
		return false
	}
}

func (l *load) submitter(stopping context.Context) {
	defer l.subs.Done()
	defer l.th.lock()()
	for batch := range l.batches {
		l.submit(stopping, batch)
	}
}

// submit hands a batch to the next node, retrying what the node was too
// busy to take until the load stops.
func (l *load) submit(stopping context.Context, batch [][]byte) {
	hashes := make([]txHash, len(batch))
	for i, tx := range batch {
		hashes[i] = sha256.Sum256(tx)
		l.txBytes.Add(uint64(len(tx)))
	}
	l.txCount.Add(uint64(len(batch)))
	for attempt := 0; len(batch) > 0; attempt++ {
		node := int(l.rr.Add(1) % uint64(l.cl.size()))
		l.tracker.add(hashes)
		rej, err := l.cl.submit(l.abort, node, batch)
		if err != nil {
			if l.abort.Err() == nil && attempt < 5 {
				l.tracker.remove(hashes)
				time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
				continue
			}
			l.giveUp(hashes)
			if l.abort.Err() == nil {
				l.fatal(fmt.Errorf("bench: submitting: %w", err))
			}
			return
		}
		var retry [][]byte
		var retryHashes, refused []txHash
		for _, r := range rej {
			if r.Busy {
				retry, retryHashes = append(retry, batch[r.Index]), append(retryHashes, hashes[r.Index])
				continue
			}
			refused = append(refused, hashes[r.Index])
			l.rejected.Add(1)
			l.noteRejection(r.Message)
		}
		l.giveUp(refused)
		l.tracker.remove(retryHashes)
		l.submitted.Add(uint64(len(batch) - len(rej)))
		batch, hashes = retry, retryHashes
		if len(batch) > 0 {
			select {
			case <-stopping.Done():
				l.slots.give(len(batch))
				return
			case <-time.After(20 * time.Millisecond):
			}
			attempt = -1 // a busy node is not a failure
		}
	}
}

// giveUp forgets transactions and frees their slots.
func (l *load) giveUp(hs []txHash) {
	l.tracker.remove(hs)
	l.slots.give(len(hs))
}

func (l *load) noteRejection(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.rejects) >= maxRejectMessages {
		return
	}
	for _, m := range l.rejects {
		if m == msg {
			return
		}
	}
	l.rejects = append(l.rejects, msg)
}

func (l *load) fatal(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

func (l *load) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *load) rejectMessages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.rejects...)
}

// followCommits feeds node 0's commits to the tracker until the cluster
// closes its stream.
func (l *load) followCommits() {
	defer l.follow.Done()
	defer l.th.lock()()
	var last uint64
	for ev := range l.cl.commits() {
		if last > 0 && ev.Height > last+1 {
			l.missed.Add(ev.Height - last - 1)
		}
		last = max(last, ev.Height)
		l.tracker.commit(ev)
	}
}
