// Package orgapp is the Mass application: an organization governing itself,
// with its members, their accounts and a token ledger, all kept in a
// versioned sparse Merkle sum tree (package smt) whose root every block
// certifies, so that any record can be proven to a light client.
//
// Transactions (package tx) are checked at submission (signatures, nonce,
// balance, permission) with a clear reason when rejected, and applied in
// block order, deterministically: a transaction that fails in a block
// changes nothing and is reported with a code. The signatures of a block
// are verified in one batch.
//
// Governance transactions (create, join, option, comment, vote, freeze,
// review, challenge) run in package gov, and after each block's
// transactions gov.EndBlock advances the proposals whose deadlines the
// block's time passed (docs/GOVERNANCE.md). When a block changes the node
// set (a passed proposal's action), its result carries the new set.
//
// The tree holds one version per height: the genesis state is version 0
// (the state before block 1), and version h is the state after block h.
// Records and their encodings are in packages state and gov.
package orgapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/smt"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/wire"
)

// Result codes of a transaction in a block (TxResult.Code).
const (
	CodeOK           = 0
	CodeMalformed    = 1 // does not decode
	CodeBadSignature = 2 // a signature does not verify
	CodeBadNonce     = 3 // nonce used or out of the window
	CodeFunds        = 4 // balance too low
	CodeNotPermitted = 5 // the sender's role or state does not allow it
	CodeInvalid      = 6 // otherwise invalid (transfer to oneself, unknown applicant, voted already …)
	CodePhase        = 7 // the proposal is not in a phase that allows it (closed, not voting, round over …)
	CodeLimit        = 8 // a bound is reached (queue full, too many participants, options, comments …)
)

// Options tune the application.
type Options struct {
	// Retain is how many heights of state stay readable (and provable);
	// older ones are pruned. 0 keeps every height.
	Retain uint64
	// DeferSync leaves a block's writes unsynced: the node's synced record
	// of the block, written next to the same store, makes them durable
	// (see app.Application.ApplyBlock). One fsync per block instead of two.
	DeferSync bool
}

// DefaultRetain is the default of Options.Retain.
const DefaultRetain = 100_000

// App is the organization's state machine. It is safe for concurrent use:
// CheckTx and the queries run beside ApplyBlock.
type App struct {
	chainID string
	tree    *smt.Tree
	kv      store.KV
	mu      sync.Mutex // serializes ApplyBlock
	// lastTime is the last block's time, which CheckTx takes for the time
	// of the next block.
	lastTime atomic.Int64
	// verified are transactions whose signatures CheckTx verified.
	verified verifiedSet
}

var _ app.Application = (*App)(nil)

// New opens the application on kv (which it owns entirely), writing the
// genesis state first if kv is empty: the genesis file's "app" section and
// its node set.
func New(kv store.KV, gen *genesis.Genesis, opts Options) (*App, error) {
	chainID := gen.ChainID
	if len(chainID) > tx.MaxChainID {
		return nil, fmt.Errorf("orgapp: chain id of %d bytes", len(chainID))
	}
	g, err := ParseGenesis(gen.App)
	if err != nil {
		return nil, err
	}
	gs, err := g.state()
	if err != nil {
		return nil, err
	}
	set, err := gen.Validate()
	if err != nil {
		return nil, err
	}
	var nodes state.Nodes
	for i, k := range set.Keys {
		nodes.Nodes = append(nodes.Nodes, state.Node{Key: k, Addrs: gen.Nodes[i].Addrs})
	}
	if len(nodes.Marshal()) > smt.MaxValue {
		return nil, fmt.Errorf("%w: the node set's record is over %d bytes", ErrBadGenesis, smt.MaxValue)
	}
	retain := opts.Retain
	if retain > 0 {
		retain++ // the genesis version counts too
	}
	tree, err := smt.Open(kv, smt.Options{Retain: retain, Prefix: treePrefix, DeferSync: opts.DeferSync})
	if err != nil {
		return nil, fmt.Errorf("orgapp: %w", err)
	}
	a := &App{chainID: chainID, tree: tree, kv: kv}
	if tree.Version() == 0 {
		versions := &state.Versions{Entries: []state.Version{{Height: 1, Version: 1}}}
		ups := []smt.Update{
			{Key: state.OrgKey, Value: gs.org.Marshal()},
			{Key: state.NodesKey, Value: nodes.Marshal()},
			{Key: state.VersionsKey, Value: versions.Marshal()},
		}
		for id, l := range gs.accounts {
			ups = append(ups, smt.Update{Key: state.AccountKey(id), Value: l.value, Sum: l.sum})
		}
		for _, r := range gs.gov {
			ups = append(ups, smt.Update{Key: r.Key, Value: r.Value})
		}
		if _, _, err := tree.Commit(1, ups, nil); err != nil {
			return nil, fmt.Errorf("orgapp: writing the genesis state: %w", err)
		}
	}
	switch raw, err := kv.Get([]byte(timeKey)); {
	case err == nil && len(raw) == 8:
		a.lastTime.Store(int64(binary.BigEndian.Uint64(raw)))
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("orgapp: reading the last block's time: %w", err)
	}
	return a, nil
}

// Keys of the application's store: the tree's under treePrefix; the result
// of each transaction that failed in a block under resultPrefix ‖ its hash
// (code:u32 ‖ log), written in the block's batch. A committed transaction
// without one succeeded; if it created a proposal (create, challenge), the
// proposal's ID is under createdPrefix ‖ its hash (u64).
const (
	treePrefix    = "t"
	resultPrefix  = "x"
	createdPrefix = "c"
	// timeKey holds the last block's time (i64), for CheckTx.
	timeKey = "m/time"
)

// The tree's version of a height: version 1 is the genesis state, version
// h+1 the state after block h.
func version(height uint64) uint64 { return height + 1 }

// Info returns the last applied height and the state root after it.
func (a *App) Info() (uint64, [32]byte, error) {
	v := a.tree.Version()
	root, _, err := a.tree.Root(v)
	if err != nil {
		return 0, root, fmt.Errorf("orgapp: %w", err)
	}
	return v - 1, root, nil
}

// Height is the last applied height.
func (a *App) Height() uint64 { return a.tree.Version() - 1 }

// ChainID is the chain the application signs for.
func (a *App) ChainID() string { return a.chainID }

// CheckTx checks a transaction against the latest state.
func (a *App) CheckTx(raw []byte) error { return a.CheckTxs([][]byte{raw})[0] }

// CheckTxs checks transactions against the latest state, each on its own,
// their signatures — a sale request's stamps' too — verified as one batch
// (app.BatchChecker).
func (a *App) CheckTxs(raws [][]byte) []error {
	errs := make([]error, len(raws))
	txs := make([]*tx.Tx, len(raws))
	batch := crypto.NewBatch(2 * len(raws))
	var owners, index []int // per signature: its transaction, its index there (-1: a stamp)
	for i, raw := range raws {
		t, err := tx.Unmarshal(raw)
		if err == nil {
			err = t.AddTo(batch, a.chainID)
		}
		if err != nil {
			errs[i] = fmt.Errorf("%w: %w", app.ErrRejected, err)
			continue
		}
		for j := range t.Signers() {
			owners, index = append(owners, i), append(index, j)
		}
		if q := saleRequestOf(t); q != nil {
			sale.AddStamps(batch, a.chainID, q)
			for range q.Stamps {
				owners, index = append(owners, i), append(index, -1)
			}
		}
		txs[i] = t
	}
	stampsOK := make([]bool, len(raws))
	for i := range stampsOK {
		stampsOK[i] = true
	}
	if valid, err := batch.Verify(); err != nil {
		for k, ok := range valid {
			i := owners[k]
			switch {
			case ok || txs[i] == nil:
			case index[k] < 0:
				stampsOK[i] = false // sale.Check verifies them again and says which
			default:
				errs[i] = fmt.Errorf("%w: signature %d (by %s) does not verify: %w", app.ErrRejected, index[k], txs[i].Signers()[index[k]], crypto.ErrBadSignature)
				txs[i] = nil
			}
		}
	}
	for i, t := range txs {
		if t != nil {
			if stampsOK[i] {
				a.verified.add(sha256.Sum256(raws[i]))
			}
			errs[i] = a.checkState(t, stampsOK[i])
		}
	}
	return errs
}

// saleRequestOf is a transaction's sale request, if it is one.
func saleRequestOf(t *tx.Tx) *sale.Request {
	if b, ok := t.Body.(*tx.SaleRequest); ok {
		return &b.Request
	}
	return nil
}

// checkState checks a transaction whose signatures verified against the
// latest state; stampsVerified says a sale request's stamps verified too.
func (a *App) checkState(t *tx.Tx, stampsVerified bool) error {
	ov := newOverlay(a.tree, a.tree.Version())
	env := txEnv{Env: gov.Env{Height: a.Height() + 1, Time: a.lastTime.Load()}, chainID: a.chainID, submission: true, stampsVerified: stampsVerified}
	if _, _, err := execute(ov, t, env); err != nil {
		return fmt.Errorf("%w: %w", app.ErrRejected, err)
	}
	if ov.err != nil {
		return fmt.Errorf("orgapp: reading state: %w", ov.err)
	}
	return nil
}

// ApplyBlock applies a block and makes the new state durable.
func (a *App) ApplyBlock(b app.Block) (app.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var res app.Result
	if h := a.Height(); b.Height != h+1 {
		return res, fmt.Errorf("orgapp: block %d after height %d", b.Height, h)
	}
	res.Txs = make([]app.TxResult, len(b.Txs))
	txs := make([]*tx.Tx, len(b.Txs))
	batch := crypto.NewBatch(2 * len(b.Txs))
	var owners []int      // the transaction of each signature in the batch
	var stampEntry []bool // whether it is a sale request's stamp
	stampsOK := make([]bool, len(b.Txs))
	for i, raw := range b.Txs {
		t, err := tx.Unmarshal(raw)
		if err != nil {
			res.Txs[i] = app.TxResult{Code: CodeMalformed, Log: err.Error()}
			continue
		}
		stampsOK[i] = true
		if a.verified.has(sha256.Sum256(raw)) {
			txs[i] = t // its signatures (and stamps) verified here at submission
			continue
		}
		before := batch.Len()
		if err := t.AddTo(batch, a.chainID); err != nil {
			res.Txs[i] = app.TxResult{Code: CodeMalformed, Log: err.Error()}
			continue
		}
		signed := batch.Len()
		if q := saleRequestOf(t); q != nil {
			sale.AddStamps(batch, a.chainID, q) // verified with the block's other signatures
		}
		for j := before; j < batch.Len(); j++ {
			owners, stampEntry = append(owners, i), append(stampEntry, j >= signed)
		}
		txs[i] = t
	}
	if batch.Len() > 0 {
		if valid, err := batch.Verify(); err != nil {
			for j, ok := range valid {
				i := owners[j]
				switch {
				case ok || txs[i] == nil:
				case stampEntry[j]:
					stampsOK[i] = false // sale.Check verifies them again and says which
				default:
					txs[i] = nil
					res.Txs[i] = app.TxResult{Code: CodeBadSignature, Log: "a signature does not verify"}
				}
			}
		}
	}
	ov := newOverlay(a.tree, a.tree.Version())
	env := txEnv{Env: gov.Env{Height: b.Height, Time: b.Time, Seed: gov.BlockSeed(b.Height, b.Txs)}, chainID: a.chainID}
	for i, t := range txs {
		if t == nil {
			continue
		}
		tov := ov.child()
		tenv := env
		tenv.stampsVerified = stampsOK[i]
		events, code, err := execute(tov, t, tenv)
		if errors.Is(err, gov.ErrCorrupt) || errors.Is(err, sale.ErrCorrupt) {
			return res, fmt.Errorf("orgapp: block %d, transaction %d: %w", b.Height, i, err)
		}
		if err != nil {
			res.Txs[i] = app.TxResult{Code: code, Log: err.Error()}
			continue
		}
		tov.merge()
		res.Txs[i] = app.TxResult{Events: events, Proposal: createdProposal(events)}
	}
	if err := gov.EndBlock(ov, env.Env); err != nil {
		return res, fmt.Errorf("orgapp: block %d: governance: %w", b.Height, err)
	}
	if _, err := sale.EndBlock(ov, env.sale()); err != nil {
		return res, fmt.Errorf("orgapp: block %d: sales: %w", b.Height, err)
	}
	if ov.err != nil {
		return res, fmt.Errorf("orgapp: reading state: %w", ov.err)
	}
	nodeSet, err := ov.nodeSetChange()
	if err != nil {
		return res, fmt.Errorf("orgapp: block %d: %w", b.Height, err)
	}
	res.NodeSet = nodeSet
	writeResults := func(batch *store.Batch) {
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(b.Time))
		batch.Put([]byte(timeKey), t[:])
		for i, r := range res.Txs {
			if r.Code != CodeOK {
				h := sha256.Sum256(b.Txs[i])
				w := wire.NewWriter(8 + len(r.Log))
				w.U32(r.Code)
				w.Raw([]byte(r.Log))
				batch.Put(append([]byte(resultPrefix), h[:]...), w.Finish())
			} else if r.Proposal != 0 {
				h := sha256.Sum256(b.Txs[i])
				batch.Put(append([]byte(createdPrefix), h[:]...), binary.BigEndian.AppendUint64(nil, r.Proposal))
			}
		}
	}
	root, _, err := a.tree.Commit(version(b.Height), ov.updates(), writeResults)
	if err != nil {
		return res, fmt.Errorf("orgapp: committing block %d: %w", b.Height, err)
	}
	res.StateRoot = root
	a.lastTime.Store(b.Time)
	return res, nil
}

// Query reads the latest state, answered as JSON: "account/<id hex>",
// "organization", "governance" (the registry and domains), "domain/<name>",
// "proposals/<domain>[/<page>]", "proposal/<id>", "executors", "sale/<id>".
func (a *App) Query(path string) ([]byte, error) {
	var v any
	var err error
	h := a.Height()
	switch arg, ok := strings.CutPrefix(path, "proposal/"); {
	case ok:
		id, perr := strconv.ParseUint(arg, 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("%w: proposal %q", app.ErrNotFound, arg)
		}
		v, err = a.Proposal(h, id)
	case path == "governance":
		v, err = a.Governance(h)
	case path == "executors":
		v, err = a.Executors(h)
	case strings.HasPrefix(path, "sale/"):
		id, perr := strconv.ParseUint(path[len("sale/"):], 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("%w: sale %q", app.ErrNotFound, path[len("sale/"):])
		}
		v, err = a.Sale(h, id)
	case strings.HasPrefix(path, "domain/"):
		v, err = a.Domain(h, path[len("domain/"):])
	case strings.HasPrefix(path, "proposals/"):
		domain, page, _ := strings.Cut(path[len("proposals/"):], "/")
		n := uint64(0)
		if page != "" {
			if n, err = strconv.ParseUint(page, 10, 32); err != nil {
				return nil, fmt.Errorf("%w: page %q", app.ErrNotFound, page)
			}
		}
		v, err = a.Proposals(h, domain, uint32(n))
	}
	if err != nil {
		return nil, err
	}
	if v != nil {
		return json.Marshal(v)
	}
	switch {
	case path == "organization":
		o, err := a.Organization(a.Height())
		if err != nil {
			return nil, err
		}
		v = OrganizationJSON(o)
	case len(path) > len("account/") && path[:len("account/")] == "account/":
		id, err := crypto.ParseID(path[len("account/"):])
		if err != nil {
			return nil, fmt.Errorf("orgapp: %w", err)
		}
		acct, bal, err := a.Account(a.Height(), id)
		if err != nil {
			return nil, err
		}
		v = AccountJSON(id, acct, bal)
	default:
		return nil, fmt.Errorf("%w: no query %q", app.ErrNotFound, path)
	}
	return json.Marshal(v)
}

// TxResult returns the result of a committed transaction by its hash: a
// failure recorded in its block, or success when there is none. It does not
// know whether the transaction was committed; the node does.
func (a *App) TxResult(hash [32]byte) (app.TxResult, error) {
	raw, err := a.kv.Get(append([]byte(resultPrefix), hash[:]...))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return a.created(hash)
	case err != nil:
		return app.TxResult{}, fmt.Errorf("orgapp: reading a result: %w", err)
	case len(raw) < 4:
		return app.TxResult{}, fmt.Errorf("orgapp: a result record of %d bytes", len(raw))
	}
	return app.TxResult{Code: binary.BigEndian.Uint32(raw), Log: string(raw[4:])}, nil
}

// created is the result of a transaction that succeeded: the proposal it
// created, if any.
func (a *App) created(hash [32]byte) (app.TxResult, error) {
	raw, err := a.kv.Get(append([]byte(createdPrefix), hash[:]...))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return app.TxResult{}, nil
	case err != nil:
		return app.TxResult{}, fmt.Errorf("orgapp: reading a result: %w", err)
	case len(raw) != 8:
		return app.TxResult{}, fmt.Errorf("orgapp: a created-proposal record of %d bytes", len(raw))
	}
	return app.TxResult{Proposal: binary.BigEndian.Uint64(raw)}, nil
}

// createdProposal is the proposal a transaction's events say it created.
func createdProposal(events []app.Event) uint64 {
	for _, e := range events {
		if e.Type != "create" && e.Type != "challenge" {
			continue
		}
		for _, kv := range e.Attributes {
			if kv.Key == "proposal" {
				id, err := strconv.ParseUint(kv.Value, 10, 64)
				if err == nil {
					return id
				}
			}
		}
	}
	return 0
}

// Account reads an account at a height.
func (a *App) Account(height uint64, id crypto.ID) (*state.Account, uint64, error) {
	val, sum, err := a.tree.Get(version(height), state.AccountKey(id))
	if err != nil {
		return nil, 0, a.readErr(err)
	}
	acct, err := state.UnmarshalAccount(val)
	return acct, sum, err
}

// Organization reads the organization record at a height.
func (a *App) Organization(height uint64) (*state.Organization, error) {
	val, _, err := a.tree.Get(version(height), state.OrgKey)
	if err != nil {
		return nil, a.readErr(err)
	}
	return state.UnmarshalOrganization(val)
}

// Supply is the total supply at a height: the sum at the root.
func (a *App) Supply(height uint64) (uint64, error) {
	_, sum, err := a.tree.Root(version(height))
	return sum, a.readErr(err)
}

// Leaf is a record of the tree at a height with the proof of its presence
// or absence against the height's state root.
type Leaf struct {
	Height uint64
	Key    state.Key
	Found  bool
	Value  []byte
	Sum    uint64
	Root   smt.Hash
	Proof  *smt.Proof
}

// Prove returns the record at key and its proof at a height.
func (a *App) Prove(height uint64, key state.Key) (*Leaf, error) {
	v := version(height)
	root, _, err := a.tree.Root(v)
	if err != nil {
		return nil, a.readErr(err)
	}
	l := &Leaf{Height: height, Key: key, Root: root}
	val, sum, err := a.tree.Get(v, key)
	switch {
	case err == nil:
		l.Found, l.Value, l.Sum = true, val, sum
	case errors.Is(err, smt.ErrNotFound):
	default:
		return nil, a.readErr(err)
	}
	if l.Proof, err = a.tree.Prove(v, key); err != nil {
		return nil, a.readErr(err)
	}
	return l, nil
}

// Oldest is the oldest height whose state is still readable.
func (a *App) Oldest() uint64 {
	if v := a.tree.Oldest(); v > 0 {
		return v - 1
	}
	return 0
}

// ErrPruned is wrapped by reads of a height no longer kept.
var ErrPruned = errors.New("orgapp: height pruned")

// ErrFuture is wrapped by reads of a height not applied yet.
var ErrFuture = errors.New("orgapp: height not applied yet")

func (a *App) readErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, smt.ErrNotFound):
		return fmt.Errorf("%w: %w", app.ErrNotFound, err)
	case errors.Is(err, smt.ErrPruned):
		return fmt.Errorf("%w (the oldest kept is %d): %w", ErrPruned, a.Oldest(), err)
	case errors.Is(err, smt.ErrUnknownVersion):
		return fmt.Errorf("%w (the latest is %d): %w", ErrFuture, a.Height(), err)
	}
	return fmt.Errorf("orgapp: %w", err)
}

// leaf is a record's value and sum; a nil value is a deleted record.
type leaf struct {
	value []byte
	sum   uint64
}

// overlay reads the tree at a version through the writes of the block so
// far; a child overlay holds one transaction's writes until they merge.
type overlay struct {
	tree    *smt.Tree
	version uint64
	parent  *overlay
	writes  map[state.Key]leaf
	err     error // first read error (a broken store), kept on the root
}

func newOverlay(t *smt.Tree, version uint64) *overlay {
	return &overlay{tree: t, version: version, writes: make(map[state.Key]leaf)}
}

func (o *overlay) child() *overlay {
	return &overlay{tree: o.tree, version: o.version, parent: o, writes: make(map[state.Key]leaf)}
}

func (o *overlay) root() *overlay {
	for o.parent != nil {
		o = o.parent
	}
	return o
}

// get returns a record, or found false.
func (o *overlay) get(k state.Key) (leaf, bool) {
	for x := o; x != nil; x = x.parent {
		if l, ok := x.writes[k]; ok {
			return l, l.value != nil
		}
	}
	val, sum, err := o.tree.Get(o.version, k)
	if err != nil {
		if r := o.root(); !errors.Is(err, smt.ErrNotFound) && r.err == nil {
			r.err = err
		}
		return leaf{}, false
	}
	return leaf{value: val, sum: sum}, true
}

func (o *overlay) put(k state.Key, l leaf) { o.writes[k] = l }

// Get, Put and Delete make the overlay a gov.Store.
func (o *overlay) Get(k state.Key) ([]byte, uint64, bool) {
	l, ok := o.get(k)
	return l.value, l.sum, ok
}

// Put writes a record.
func (o *overlay) Put(k state.Key, value []byte, sum uint64) { o.put(k, leaf{value: value, sum: sum}) }

// Delete deletes a record.
func (o *overlay) Delete(k state.Key) { o.put(k, leaf{}) }

var _ gov.Store = (*overlay)(nil)

// nodeSetChange returns the new node set if the overlay's writes changed
// it, nil otherwise.
func (o *overlay) nodeSetChange() ([]app.NodeInfo, error) {
	l, ok := o.writes[state.NodesKey]
	if !ok {
		return nil, nil
	}
	old, _, err := o.tree.Get(o.version, state.NodesKey)
	if err != nil && !errors.Is(err, smt.ErrNotFound) {
		return nil, err
	}
	if bytes.Equal(old, l.value) {
		return nil, nil
	}
	n, err := state.UnmarshalNodes(l.value)
	if err != nil {
		return nil, fmt.Errorf("the new node set: %w", err)
	}
	set := make([]app.NodeInfo, len(n.Nodes))
	for i, nd := range n.Nodes {
		set[i] = app.NodeInfo{Key: nd.Key, Addrs: slices.Clone(nd.Addrs)}
	}
	return set, nil
}

func (o *overlay) merge() {
	for k, l := range o.writes {
		o.parent.writes[k] = l
	}
}

func (o *overlay) updates() []smt.Update {
	ups := make([]smt.Update, 0, len(o.writes))
	for k, l := range o.writes {
		if l.value == nil {
			ups = append(ups, smt.Update{Key: k, Delete: true})
		} else {
			ups = append(ups, smt.Update{Key: k, Value: l.value, Sum: l.sum})
		}
	}
	slices.SortFunc(ups, func(a, b smt.Update) int { return compareKeys(a.Key, b.Key) })
	return ups
}

func compareKeys(a, b state.Key) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// account reads an account, or a fresh guest account if there is none.
func (o *overlay) account(id crypto.ID) (*state.Account, uint64, error) {
	l, ok := o.get(state.AccountKey(id))
	if !ok {
		return &state.Account{}, 0, o.root().err
	}
	acct, err := state.UnmarshalAccount(l.value)
	if err != nil {
		return nil, 0, fmt.Errorf("account %s: %w", id, err)
	}
	return acct, l.sum, nil
}

func (o *overlay) putAccount(id crypto.ID, acct *state.Account, balance uint64) {
	o.put(state.AccountKey(id), leaf{value: acct.Marshal(), sum: balance})
}

func (o *overlay) organization() (*state.Organization, error) {
	l, ok := o.get(state.OrgKey)
	if !ok {
		if err := o.root().err; err != nil {
			return nil, err
		}
		return nil, errors.New("the organization record is missing")
	}
	return state.UnmarshalOrganization(l.value)
}

func (o *overlay) putOrganization(org *state.Organization) {
	o.put(state.OrgKey, leaf{value: org.Marshal()})
}

var fail = app.Fail

// execute applies a transaction whose signatures are verified to an
// overlay. On error the overlay holds partial writes and must be dropped;
// the code says why.
func execute(o *overlay, t *tx.Tx, env txEnv) ([]app.Event, uint32, error) {
	events, err := run(o, t, env)
	if err != nil {
		if te := (*app.TxError)(nil); errors.As(err, &te) {
			return nil, te.Code, err
		}
		if r := (*sale.Refusal)(nil); errors.As(err, &r) {
			return nil, r.Code, err
		}
		return nil, CodeInvalid, err
	}
	return events, CodeOK, nil
}

func run(o *overlay, t *tx.Tx, env txEnv) ([]app.Event, error) {
	if b, ok := t.Body.(*tx.SaleRequest); ok {
		return saleRequest(o, t, b, env)
	}
	senderID := t.Sender.ID()
	sender, balance, err := o.account(senderID)
	if err != nil {
		return nil, err
	}
	if err := sender.NonceFree(t.Nonce); err != nil {
		return nil, fail(CodeBadNonce, "%s", err)
	}
	sender.UseNonce(t.Nonce)
	if gov.IsGov(t.Body) {
		o.putAccount(senderID, sender, balance)
		return gov.Apply(o, env.Env, senderID, t.Body)
	}
	switch b := t.Body.(type) {
	case *tx.Transfer:
		return transfer(o, senderID, sender, balance, b)
	case *tx.Apply:
		return apply(o, senderID, sender, balance, b)
	case *tx.Decide:
		return decide(o, senderID, sender, balance, b)
	case *tx.Leave:
		return leave(o, senderID, sender, balance)
	case *tx.SaleOpen:
		return saleOpen(o, senderID, sender, balance, b, env)
	}
	return nil, fail(CodeMalformed, "unknown transaction type %s", t.Body.Type())
}

func transfer(o *overlay, fromID crypto.ID, from *state.Account, balance uint64, b *tx.Transfer) ([]app.Event, error) {
	toID := b.To.ID()
	if toID == fromID {
		return nil, fail(CodeInvalid, "a transfer to oneself")
	}
	if balance < b.Amount {
		return nil, fail(CodeFunds, "balance %d is less than %d", balance, b.Amount)
	}
	to, toBalance, err := o.account(toID)
	if err != nil {
		return nil, err
	}
	newTo, carry := bits.Add64(toBalance, b.Amount, 0)
	if carry != 0 {
		return nil, fail(CodeInvalid, "the recipient's balance would overflow")
	}
	o.putAccount(fromID, from, balance-b.Amount)
	o.putAccount(toID, to, newTo)
	return []app.Event{{Type: "transfer", Attributes: []app.Attribute{
		{Key: "from", Value: fromID.String()}, {Key: "to", Value: toID.String()},
		{Key: "amount", Value: fmt.Sprint(b.Amount)},
	}}}, nil
}

func apply(o *overlay, id crypto.ID, acct *state.Account, balance uint64, b *tx.Apply) ([]app.Event, error) {
	switch {
	case acct.Role.IsMember():
		return nil, fail(CodeNotPermitted, "already a %s", acct.Role)
	case acct.Applying():
		return nil, fail(CodeNotPermitted, "an application is pending already")
	}
	org, err := o.organization()
	if err != nil {
		return nil, err
	}
	acct.Flags |= state.FlagApplying
	acct.Name = b.Name
	org.Applicants++
	o.putAccount(id, acct, balance)
	o.putOrganization(org)
	return []app.Event{{Type: "apply", Attributes: []app.Attribute{
		{Key: "applicant", Value: id.String()}, {Key: "name", Value: b.Name},
		{Key: "policy", Value: org.Policy.String()},
	}}}, nil
}

func decide(o *overlay, id crypto.ID, acct *state.Account, balance uint64, b *tx.Decide) ([]app.Event, error) {
	org, err := o.organization()
	if err != nil {
		return nil, err
	}
	if org.Policy != state.BySupervisor {
		return nil, fail(CodeNotPermitted, "applications are decided by a vote of the members (policy %s)", org.Policy)
	}
	if acct.Role != state.Supervisor {
		return nil, fail(CodeNotPermitted, "only a supervisor decides applications; the sender %s", gov.Standing(acct, balance))
	}
	if b.Applicant == id {
		return nil, fail(CodeInvalid, "a supervisor cannot decide its own application")
	}
	// The sender's nonce is written first: the applicant's record is read
	// after it, and the two are different accounts.
	o.putAccount(id, acct, balance)
	applicant, appBalance, err := o.account(b.Applicant)
	if err != nil {
		return nil, err
	}
	if !applicant.Applying() {
		return nil, fail(CodeInvalid, "%s has no pending application", b.Applicant)
	}
	applicant.Flags &^= state.FlagApplying
	org.Applicants--
	outcome := "refused"
	if b.Accept {
		applicant.Role = state.Member
		org.Members++
		outcome = "accepted"
	} else {
		applicant.Name = ""
	}
	o.putAccount(b.Applicant, applicant, appBalance)
	o.putOrganization(org)
	return []app.Event{{Type: "decide", Attributes: []app.Attribute{
		{Key: "applicant", Value: b.Applicant.String()}, {Key: "by", Value: id.String()},
		{Key: "outcome", Value: outcome},
	}}}, nil
}

func leave(o *overlay, id crypto.ID, acct *state.Account, balance uint64) ([]app.Event, error) {
	org, err := o.organization()
	if err != nil {
		return nil, err
	}
	switch {
	case acct.Applying():
		acct.Flags &^= state.FlagApplying
		acct.Name = ""
		org.Applicants--
	case acct.Role == state.Supervisor && org.Supervisors == 1:
		return nil, fail(CodeNotPermitted, "the last supervisor cannot leave")
	case acct.Role == state.Supervisor:
		org.Supervisors--
		org.Members--
	case acct.Role == state.Member:
		org.Members--
	default:
		return nil, fail(CodeNotPermitted, "not a member and no application pending")
	}
	from := acct.Role
	acct.Role = state.Guest
	o.putAccount(id, acct, balance)
	o.putOrganization(org)
	return []app.Event{{Type: "leave", Attributes: []app.Attribute{
		{Key: "account", Value: id.String()}, {Key: "was", Value: from.String()},
	}}}, nil
}
