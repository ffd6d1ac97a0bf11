// Package storetest is the conformance suite of store.KV. Every
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.KV { return open(t) })
//	}
//
// It imports only store and the standard library; never protocol or node
// packages.
package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
)

// Run runs the conformance suite. open must return a new, empty, open store
// for each call and arrange (with t.Cleanup) for it to be closed; the suite
// may close it first, and Close is idempotent.
func Run(t *testing.T, open func(t *testing.T) store.KV) {
	tests := []struct {
		name string
		fn   func(t *testing.T, kv store.KV)
	}{
		{"PutGetHasDelete", testPutGetHasDelete},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"EmptyValue", testEmptyValue},
		{"EmptyBatch", testEmptyBatch},
		{"EmptyKey", testEmptyKey},
		{"TooLarge", testTooLarge},
		{"BatchOrder", testBatchOrder},
		{"DeleteRange", testDeleteRange},
		{"Scan", testScan},
		{"ScanReadsInside", testScanReadsInside},
		{"Last", testLast},
		{"PrefixEnd", testPrefixEnd},
		{"Copies", testCopies},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
		{"Model", testModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// op is one operation for apply: put with a value, delete, or delete range.
type op struct {
	kind       store.OpKind
	key, value []byte
	end        []byte
}

func put(k, v string) op { return op{kind: store.OpPut, key: []byte(k), value: []byte(v)} }
func del(k string) op    { return op{kind: store.OpDelete, key: []byte(k)} }

// delRange deletes [start, end); a nil argument is passed as nil.
func delRange(start, end []byte) op { return op{kind: store.OpDeleteRange, key: start, end: end} }

func batch(ops ...op) *store.Batch {
	var b store.Batch
	for _, o := range ops {
		switch o.kind {
		case store.OpPut:
			b.Put(o.key, o.value)
		case store.OpDelete:
			b.Delete(o.key)
		case store.OpDeleteRange:
			b.DeleteRange(o.key, o.end)
		}
	}
	return &b
}

func apply(t *testing.T, kv store.KV, sync bool, ops ...op) {
	t.Helper()
	if err := kv.Apply(batch(ops...), sync); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func wantValue(t *testing.T, kv store.KV, key, want string) {
	t.Helper()
	got, err := kv.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
	has, err := kv.Has([]byte(key))
	if err != nil || !has {
		t.Fatalf("Has(%q) = %v, %v after Get found it", key, has, err)
	}
}

func wantAbsent(t *testing.T, kv store.KV, key string) {
	t.Helper()
	if v, err := kv.Get([]byte(key)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v, want ErrNotFound", key, v, err)
	}
	if has, err := kv.Has([]byte(key)); err != nil || has {
		t.Fatalf("Has(%q) = %v, %v, want false", key, has, err)
	}
}

type entry struct{ key, value string }

func scan(t *testing.T, kv store.KV, start, end []byte) []entry {
	t.Helper()
	var out []entry
	if err := kv.Scan(start, end, func(k, v []byte) bool {
		out = append(out, entry{string(k), string(v)})
		return true
	}); err != nil {
		t.Fatalf("Scan(%x, %x): %v", start, end, err)
	}
	return out
}

func keysOf(es []entry) []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.key
	}
	return keys
}

func wantKeys(t *testing.T, kv store.KV, start, end []byte, want ...string) {
	t.Helper()
	if got := keysOf(scan(t, kv, start, end)); !slices.Equal(got, want) {
		t.Fatalf("Scan(%q, %q) keys = %q, want %q", start, end, got, want)
	}
}

func testPutGetHasDelete(t *testing.T, kv store.KV) {
	apply(t, kv, true, put("a", "1"), put("b", "2"))
	wantValue(t, kv, "a", "1")
	wantValue(t, kv, "b", "2")
	apply(t, kv, false, del("a"))
	wantAbsent(t, kv, "a")
	wantValue(t, kv, "b", "2")
	apply(t, kv, false, del("a")) // deleting an absent key is not an error
	wantAbsent(t, kv, "a")
}

func testOverwrite(t *testing.T, kv store.KV) {
	apply(t, kv, false, put("k", "first"))
	apply(t, kv, false, put("k", "second, longer"))
	wantValue(t, kv, "k", "second, longer")
	apply(t, kv, true, put("k", "3"))
	wantValue(t, kv, "k", "3")
	wantKeys(t, kv, nil, nil, "k")
}

func testNotFound(t *testing.T, kv store.KV) {
	wantAbsent(t, kv, "missing")
	if k, v, err := kv.Last(nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Last(nil) on an empty store = %q, %q, %v, want ErrNotFound", k, v, err)
	}
	wantKeys(t, kv, nil, nil)
	apply(t, kv, false, put("a", "1"))
	wantAbsent(t, kv, "a\x00")
	wantAbsent(t, kv, "A")
	if k, v, err := kv.Last([]byte("b")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Last(b) = %q, %q, %v, want ErrNotFound", k, v, err)
	}
}

func testEmptyValue(t *testing.T, kv store.KV) {
	apply(t, kv, false, put("nil", ""), op{kind: store.OpPut, key: []byte("empty"), value: []byte{}})
	for _, k := range []string{"nil", "empty"} {
		v, err := kv.Get([]byte(k))
		if err != nil || len(v) != 0 {
			t.Fatalf("Get(%q) = %q, %v, want an empty value", k, v, err)
		}
		if has, err := kv.Has([]byte(k)); err != nil || !has {
			t.Fatalf("Has(%q) = %v, %v for an empty value", k, has, err)
		}
	}
	if got := scan(t, kv, nil, nil); len(got) != 2 || got[0] != (entry{"empty", ""}) || got[1] != (entry{"nil", ""}) {
		t.Fatalf("Scan = %q", got)
	}
}

func testEmptyBatch(t *testing.T, kv store.KV) {
	if err := kv.Apply(nil, true); err != nil {
		t.Fatalf("Apply(nil, true): %v", err)
	}
	if err := kv.Apply(&store.Batch{}, false); err != nil {
		t.Fatalf("Apply(empty, false): %v", err)
	}
	wantKeys(t, kv, nil, nil)
}

func testEmptyKey(t *testing.T, kv store.KV) {
	apply(t, kv, true, put("keep", "1"))
	for _, bad := range []op{put("", "v"), del(""), {kind: store.OpPut, value: []byte("v")}} {
		err := kv.Apply(batch(put("new", "1"), del("keep"), bad), true)
		if !errors.Is(err, store.ErrEmptyKey) {
			t.Fatalf("Apply with an empty key: %v, want ErrEmptyKey", err)
		}
		wantAbsent(t, kv, "new")
		wantValue(t, kv, "keep", "1")
	}
	if _, err := kv.Get(nil); !errors.Is(err, store.ErrEmptyKey) {
		t.Fatalf("Get(nil): %v, want ErrEmptyKey", err)
	}
	if _, err := kv.Has([]byte{}); !errors.Is(err, store.ErrEmptyKey) {
		t.Fatalf("Has(empty): %v, want ErrEmptyKey", err)
	}
}

func testTooLarge(t *testing.T, kv store.KV) {
	apply(t, kv, true, put("keep", "1"))
	maxKey := strings.Repeat("\xff", store.MaxKeySize)
	value := make([]byte, store.MaxValueSize+1)
	for i := range 251 {
		value[i] = byte(i * 7)
	}
	for n := 251; n < len(value); n *= 2 {
		copy(value[n:], value[:n])
	}
	for _, c := range []struct {
		bad   op
		limit string
	}{
		{put(maxKey+"\x00", "v"), "MaxKeySize"},
		{del(maxKey + "\x00"), "MaxKeySize"},
		{op{kind: store.OpPut, key: []byte("big"), value: value}, "MaxValueSize"},
	} {
		// Everything before the bad operation must be dropped with it.
		err := kv.Apply(batch(put("new", "1"), del("keep"), delRange(nil, nil), c.bad), true)
		if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), c.limit) {
			t.Fatalf("Apply over %s: %v, want ErrTooLarge naming %s", c.limit, err, c.limit)
		}
		wantAbsent(t, kv, "new")
		wantAbsent(t, kv, "big")
		wantValue(t, kv, "keep", "1")
		wantKeys(t, kv, nil, nil, "keep")
	}

	// At the limits, the same writes succeed.
	apply(t, kv, true, put(maxKey, "max key"), op{kind: store.OpPut, key: []byte("big"), value: value[:store.MaxValueSize]})
	wantValue(t, kv, maxKey, "max key")
	got, err := kv.Get([]byte("big"))
	if err != nil || !bytes.Equal(got, value[:store.MaxValueSize]) {
		t.Fatalf("Get(big): %d bytes, %v; want the %d bytes written", len(got), err, store.MaxValueSize)
	}
	if k, _, err := kv.Last(nil); err != nil || string(k) != maxKey {
		t.Fatalf("Last(nil) = %d bytes, %v, want the key of MaxKeySize 0xFF bytes", len(k), err)
	}
	apply(t, kv, true, del("big"))
}

func testBatchOrder(t *testing.T, kv store.KV) {
	apply(t, kv, false, put("k", "1"), del("k"), put("k", "2"))
	wantValue(t, kv, "k", "2")
	apply(t, kv, false, put("k", "3"), put("k", "4"))
	wantValue(t, kv, "k", "4")
	apply(t, kv, false, put("r", "1"), delRange([]byte("r"), []byte("s")))
	wantAbsent(t, kv, "r")
	apply(t, kv, false, delRange([]byte("r"), []byte("s")), put("r", "2"))
	wantValue(t, kv, "r", "2")
	apply(t, kv, false, put("k", "5"), del("k"))
	wantAbsent(t, kv, "k")
}

func testDeleteRange(t *testing.T, kv store.KV) {
	all := []string{"a", "b", "b\x00", "ba", "bb", "c", "\xff", "\xff\xff"}
	reset := func() {
		ops := []op{delRange(nil, nil)}
		for _, k := range all {
			ops = append(ops, put(k, "v"+k))
		}
		apply(t, kv, false, ops...)
		wantKeys(t, kv, nil, nil, all...)
	}
	for _, c := range []struct {
		start, end []byte
		left       []string
	}{
		{[]byte("b"), []byte("bb"), []string{"a", "bb", "c", "\xff", "\xff\xff"}},
		{[]byte("b"), []byte("c"), []string{"a", "c", "\xff", "\xff\xff"}},
		{[]byte("b"), store.PrefixEnd([]byte("b")), []string{"a", "c", "\xff", "\xff\xff"}},
		{[]byte("ab"), []byte("b\x00"), []string{"a", "b\x00", "ba", "bb", "c", "\xff", "\xff\xff"}},
		{nil, []byte("b"), []string{"b", "b\x00", "ba", "bb", "c", "\xff", "\xff\xff"}},
		{[]byte{}, []byte("b"), []string{"b", "b\x00", "ba", "bb", "c", "\xff", "\xff\xff"}},
		{[]byte("c"), nil, []string{"a", "b", "b\x00", "ba", "bb"}},
		{[]byte("\xff"), nil, []string{"a", "b", "b\x00", "ba", "bb", "c"}},
		{[]byte("\xff\xff"), store.PrefixEnd([]byte("\xff\xff")), []string{"a", "b", "b\x00", "ba", "bb", "c", "\xff"}},
		{nil, nil, nil},
		{[]byte("b"), []byte("b"), all},    // empty range
		{[]byte("c"), []byte("a"), all},    // end before start
		{[]byte("zz"), []byte("zzz"), all}, // nothing there
	} {
		reset()
		apply(t, kv, false, delRange(c.start, c.end))
		wantKeys(t, kv, nil, nil, c.left...)
		for _, k := range all {
			if !slices.Contains(c.left, k) {
				wantAbsent(t, kv, k)
			}
		}
	}

	// A range delete with no upper bound removes a key of MaxKeySize 0xFF
	// bytes, the greatest key there can be.
	maxKey := strings.Repeat("\xff", store.MaxKeySize)
	apply(t, kv, false, put(maxKey, "v"), put("a", "v"))
	apply(t, kv, true, delRange([]byte("b"), nil))
	wantAbsent(t, kv, maxKey)
	wantKeys(t, kv, nil, nil, "a")
}

// scanKeys are inserted in a shuffled order; there are more than any
// reasonable chunk of a Scan, to cross chunk boundaries.
func scanKeys() []string {
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("k%03d", i))
	}
	return keys
}

func testScan(t *testing.T, kv store.KV) {
	keys := scanKeys()
	shuffled := slices.Clone(keys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i := 0; i < len(shuffled); i += 50 {
		var ops []op
		for _, k := range shuffled[i : i+50] {
			ops = append(ops, put(k, "v"+k))
		}
		apply(t, kv, false, ops...)
	}
	apply(t, kv, false, put("a", "va"), put("z", "vz"))

	got := scan(t, kv, nil, nil)
	want := append(append([]string{"a"}, keys...), "z")
	if !slices.Equal(keysOf(got), want) {
		t.Fatalf("Scan(nil, nil) keys = %q, want %q", keysOf(got), want)
	}
	for _, e := range got {
		if e.value != "v"+e.key {
			t.Fatalf("Scan gave %q = %q, want %q", e.key, e.value, "v"+e.key)
		}
	}

	wantKeys(t, kv, []byte("k010"), []byte("k013"), "k010", "k011", "k012") // start in, end out
	wantKeys(t, kv, []byte("k0105"), []byte("k0125"), "k011", "k012")       // bounds between keys
	wantKeys(t, kv, []byte("k"), store.PrefixEnd([]byte("k")), keys...)
	wantKeys(t, kv, []byte("k299"), nil, "k299", "z")
	wantKeys(t, kv, nil, []byte("k001"), "a", "k000")
	wantKeys(t, kv, []byte("k005"), []byte("k005")) // empty range
	wantKeys(t, kv, []byte("k006"), []byte("k005")) // end before start
	wantKeys(t, kv, []byte("z\x00"), nil)           // after the last key
	wantKeys(t, kv, nil, []byte("a"))               // before the first key
	wantKeys(t, kv, []byte{}, []byte("a\x00"), "a") // an empty start is the first key

	for _, stop := range []int{1, 2, 129, 250} {
		calls := 0
		err := kv.Scan(nil, nil, func(k, v []byte) bool {
			calls++
			return calls < stop
		})
		if err != nil || calls != stop {
			t.Fatalf("Scan stopping at call %d made %d calls, %v", stop, calls, err)
		}
	}
}

func testScanReadsInside(t *testing.T, kv store.KV) {
	keys := scanKeys()
	var ops []op
	for _, k := range keys {
		ops = append(ops, put(k, "v"+k))
	}
	apply(t, kv, false, ops...)
	n := 0
	err := kv.Scan(nil, nil, func(k, v []byte) bool {
		got, err := kv.Get(k)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("Get(%q) inside Scan = %q, %v, want %q", k, got, err, v)
			return false
		}
		inner := 0
		if err := kv.Scan(k, nil, func(_, _ []byte) bool { inner++; return inner < 2 }); err != nil {
			t.Errorf("Scan inside Scan: %v", err)
			return false
		}
		if _, _, err := kv.Last(k); err != nil {
			t.Errorf("Last(%q) inside Scan: %v", k, err)
			return false
		}
		n++
		return true
	})
	if err != nil || n != len(keys) {
		t.Fatalf("Scan reading the store visited %d of %d keys, %v", n, len(keys), err)
	}
}

func testLast(t *testing.T, kv store.KV) {
	keys := []string{"a", "ab", "abc", "abd", "ac", "b", "b\xff", "b\xff\xff", "c\x00", "\xff", "\xff\xff", "\xff\xff\x01"}
	var ops []op
	for _, k := range keys {
		ops = append(ops, put(k, "v"+k))
	}
	apply(t, kv, true, ops...)
	for _, c := range []struct {
		prefix string
		want   string // "" for ErrNotFound
	}{
		{"", "\xff\xff\x01"},
		{"a", "ac"},
		{"ab", "abd"},      // a proper prefix of keys, and a key itself
		{"abc", "abc"},     // a key with no longer key under it
		{"abca", ""},       // longer than the key it extends
		{"abe", ""},        // between keys
		{"aa", ""},         // before the keys it shares a byte with
		{"b", "b\xff\xff"}, // the last keys end in 0xFF
		{"b\xff", "b\xff\xff"},
		{"c", "c\x00"}, // a proper prefix of a key only
		{"c\x00", "c\x00"},
		{"d", ""},    // after every key but 0xFF ones
		{"\x00", ""}, // before every key
		{"\xff", "\xff\xff\x01"},
		{"\xff\xff", "\xff\xff\x01"},
		{"\xff\xff\x01", "\xff\xff\x01"},
		{"\xff\xff\x01\x00", ""},
		{"\xff\xff\xff", ""},
	} {
		k, v, err := kv.Last([]byte(c.prefix))
		if c.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Last(%q) = %q, %q, %v, want ErrNotFound", c.prefix, k, v, err)
			}
			continue
		}
		if err != nil || string(k) != c.want || string(v) != "v"+c.want {
			t.Errorf("Last(%q) = %q, %q, %v, want %q", c.prefix, k, v, err, c.want)
		}
	}

	// Deleted keys are not returned.
	apply(t, kv, false, del("abd"), delRange([]byte("\xff\xff"), nil))
	for prefix, want := range map[string]string{"ab": "abc", "": "\xff", "\xff": "\xff"} {
		if k, _, err := kv.Last([]byte(prefix)); err != nil || string(k) != want {
			t.Errorf("Last(%q) after deletes = %q, %v, want %q", prefix, k, err, want)
		}
	}
}

func testPrefixEnd(t *testing.T, kv store.KV) {
	keys := []string{"\x00", "a", "a\xff", "a\xff\x00", "b", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}
	var ops []op
	for _, k := range keys {
		ops = append(ops, put(k, "v"))
	}
	apply(t, kv, false, ops...)
	for _, prefix := range []string{"", "a", "a\xff", "\xfe", "\xff", "\xff\xff", "\xff\xff\xff", "\xff\xff\xff\xff"} {
		var want []string
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		wantKeys(t, kv, []byte(prefix), store.PrefixEnd([]byte(prefix)), want...)
	}
}

func testCopies(t *testing.T, kv store.KV) {
	// Inputs are copied: by Batch when an operation is added...
	key, value := []byte("key"), []byte("value")
	var b store.Batch
	b.Put(key, value)
	copy(key, "XXX")
	copy(value, "XXXXX")
	if err := kv.Apply(&b, false); err != nil {
		t.Fatal(err)
	}
	wantValue(t, kv, "key", "value")
	// ...and by the store when a batch is applied: the batch's memory is
	// reused after Reset.
	b.Reset()
	b.Put([]byte("k2"), []byte("v2"))
	b.Put([]byte("k3"), []byte("v3"))
	if err := kv.Apply(&b, false); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Put([]byte("zz"), []byte("zz"))
	b.Put([]byte("yy"), []byte("yy"))
	wantValue(t, kv, "k2", "v2")
	wantValue(t, kv, "k3", "v3")
	wantAbsent(t, kv, "zz")

	// Outputs are copies: Get...
	got, err := kv.Get([]byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "XXXXX")
	wantValue(t, kv, "key", "value")

	// ...Scan, whose arguments stay valid after fn returns...
	var keys, values [][]byte
	if err := kv.Scan(nil, nil, func(k, v []byte) bool {
		keys, values = append(keys, k), append(values, v)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	wantKeysBytes := []string{"k2", "k3", "key"}
	wantValuesBytes := []string{"v2", "v3", "value"}
	for i := range keys {
		if string(keys[i]) != wantKeysBytes[i] || string(values[i]) != wantValuesBytes[i] {
			t.Fatalf("Scan entry %d kept as %q = %q, want %q = %q", i, keys[i], values[i], wantKeysBytes[i], wantValuesBytes[i])
		}
		for j := range keys[i] {
			keys[i][j] = 'X'
		}
		for j := range values[i] {
			values[i][j] = 'X'
		}
	}
	wantKeys(t, kv, nil, nil, wantKeysBytes...)
	wantValue(t, kv, "k2", "v2")

	// ...and Last.
	k, v, err := kv.Last([]byte("k"))
	if err != nil || string(k) != "key" || string(v) != "value" {
		t.Fatalf("Last(k) = %q, %q, %v", k, v, err)
	}
	copy(k, "XXX")
	copy(v, "XXXXX")
	wantValue(t, kv, "key", "value")
	if k, _, err := kv.Last([]byte("k")); err != nil || string(k) != "key" {
		t.Fatalf("Last(k) after modifying its result = %q, %v", k, err)
	}
}

func testClosed(t *testing.T, kv store.KV) {
	apply(t, kv, true, put("a", "1"))
	if err := kv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := kv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := kv.Get([]byte("a")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := kv.Get(nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get(nil) after Close: %v", err)
	}
	if _, err := kv.Has([]byte("a")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Has after Close: %v", err)
	}
	if err := kv.Apply(batch(put("b", "2")), true); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if err := kv.Apply(batch(put("", "bad")), false); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply of a bad batch after Close: %v", err)
	}
	called := false
	if err := kv.Scan(nil, nil, func(_, _ []byte) bool { called = true; return true }); !errors.Is(err, store.ErrClosed) || called {
		t.Errorf("Scan after Close: %v, fn called %v", err, called)
	}
	if _, _, err := kv.Last(nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Last after Close: %v", err)
	}
}

// testConcurrent runs readers against a writer; run it with -race. Batch i
// sets "counter" to i and adds "log/i"; every tenth batch deletes the log
// entries more than 20 behind. The writer goes on until every reader has
// made some rounds of reads.
func testConcurrent(t *testing.T, kv store.KV) {
	const minBatches, readers, minRounds = 300, 4, 50
	u64 := func(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }
	logKey := func(i uint64) []byte { return append([]byte("log/"), u64(i)...) }
	apply(t, kv, true, op{kind: store.OpPut, key: []byte("counter"), value: u64(0)}, op{kind: store.OpPut, key: logKey(0), value: u64(0)})
	var rounds, running atomic.Int64
	running.Store(readers)

	counter := func() uint64 {
		v, err := kv.Get([]byte("counter"))
		if err != nil || len(v) != 8 {
			t.Errorf("Get(counter) = %x, %v", v, err)
			return 0
		}
		return binary.BigEndian.Uint64(v)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			var lastCounter, lastLog uint64
			for i := 0; ; i++ {
				if i == minRounds {
					rounds.Add(1)
				}
				select {
				case <-done:
					return
				default:
				}
				c1 := counter()
				if c1 < lastCounter {
					t.Errorf("reader %d: counter went back from %d to %d", r, lastCounter, c1)
					return
				}
				lastCounter = c1
				// The batch that set counter to c1 also wrote log/c1, and the
				// first batch that may delete it is c1+21.
				has, err := kv.Has(logKey(c1))
				if c2 := counter(); err != nil || (!has && c2 <= c1+20) {
					t.Errorf("reader %d: Has(log/%d) = %v, %v with counter at %d: a batch was seen in part", r, c1, has, err, c2)
					return
				}
				k, v, err := kv.Last([]byte("log/"))
				if err != nil || len(k) != 12 || !bytes.Equal(k[4:], v) {
					t.Errorf("reader %d: Last(log/) = %x, %x, %v", r, k, v, err)
					return
				}
				if n := binary.BigEndian.Uint64(v); n < lastLog {
					t.Errorf("reader %d: Last(log/) went back from %d to %d", r, lastLog, n)
					return
				} else {
					lastLog = n
				}
				if i%4 == 0 {
					var prev []byte
					err := kv.Scan([]byte("log/"), store.PrefixEnd([]byte("log/")), func(k, v []byte) bool {
						if bytes.Compare(prev, k) >= 0 || !bytes.Equal(k[4:], v) {
							t.Errorf("reader %d: Scan gave %x = %x after %x", r, k, v, prev)
							return false
						}
						prev = k
						return true
					})
					if err != nil {
						t.Errorf("reader %d: Scan: %v", r, err)
						return
					}
				}
			}
		}()
	}
	var i uint64
	for i = 1; i <= minBatches || (rounds.Load() < readers && running.Load() > 0); i++ {
		ops := []op{
			{kind: store.OpPut, key: []byte("counter"), value: u64(i)},
			{kind: store.OpPut, key: logKey(i), value: u64(i)},
		}
		if i%10 == 0 && i > 20 {
			ops = append(ops, delRange([]byte("log/"), logKey(i-20)))
		}
		if err := kv.Apply(batch(ops...), i%50 == 0); err != nil {
			t.Errorf("Apply %d: %v", i, err)
			break
		}
	}
	close(done)
	wg.Wait()
	if c := counter(); c != i-1 {
		t.Fatalf("counter = %d after %d batches", c, i-1)
	}
}

// testModel applies random batches and checks every read against a map,
// for a few seeds in turn on the same store (each starts by clearing it).
func testModel(t *testing.T, kv store.KV) {
	for seed := range uint64(3) {
		apply(t, kv, false, delRange(nil, nil))
		testModelSeed(t, kv, seed)
	}
}

func testModelSeed(t *testing.T, kv store.KV, seed uint64) {
	const batches = 150
	rng := rand.New(rand.NewPCG(seed, 7))
	alphabet := []byte{0x00, 'a', 'b', 0xFF}
	randKey := func(minLen int) []byte {
		k := make([]byte, minLen+rng.IntN(4-minLen))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	maybeNil := func(k []byte) []byte {
		if rng.IntN(6) == 0 {
			return nil
		}
		return k
	}
	model := map[string]string{}
	for i := range batches {
		var ops []op
		next := maps.Clone(model)
		bad := rng.IntN(20) == 0
		for j := range 1 + rng.IntN(8) {
			switch r := rng.IntN(10); {
			case r < 6:
				k, v := randKey(1), fmt.Sprintf("v%d.%d", i, j)
				ops = append(ops, put(string(k), v))
				next[string(k)] = v
			case r < 8:
				k := randKey(1)
				ops = append(ops, del(string(k)))
				delete(next, string(k))
			default:
				start, end := maybeNil(randKey(0)), maybeNil(randKey(0))
				ops = append(ops, delRange(start, end))
				for k := range next {
					if k >= string(start) && (end == nil || k < string(end)) {
						delete(next, k)
					}
				}
			}
		}
		if bad {
			ops = append(ops, put("", "bad"))
		}
		err := kv.Apply(batch(ops...), rng.IntN(3) == 0)
		switch {
		case bad && !errors.Is(err, store.ErrEmptyKey):
			t.Fatalf("seed %d, batch %d: Apply of a bad batch: %v", seed, i, err)
		case !bad && err != nil:
			t.Fatalf("seed %d, batch %d: Apply: %v", seed, i, err)
		case !bad:
			model = next
		}

		var want []entry
		for k, v := range model {
			want = append(want, entry{k, v})
		}
		slices.SortFunc(want, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		if got := scan(t, kv, nil, nil); !slices.Equal(got, want) {
			t.Fatalf("seed %d, batch %d: Scan = %q, want %q", seed, i, got, want)
		}
		for range 5 {
			start, end := maybeNil(randKey(0)), maybeNil(randKey(0))
			var wantRange []entry
			for _, e := range want {
				if e.key >= string(start) && (end == nil || e.key < string(end)) {
					wantRange = append(wantRange, e)
				}
			}
			if got := scan(t, kv, start, end); !slices.Equal(got, wantRange) {
				t.Fatalf("seed %d, batch %d: Scan(%x, %x) = %q, want %q", seed, i, start, end, got, wantRange)
			}

			prefix := randKey(0)
			var wantLast *entry
			for j := range want {
				if strings.HasPrefix(want[j].key, string(prefix)) {
					wantLast = &want[j]
				}
			}
			k, v, err := kv.Last(prefix)
			switch {
			case wantLast == nil && !errors.Is(err, store.ErrNotFound):
				t.Fatalf("seed %d, batch %d: Last(%x) = %x, %v, want ErrNotFound", seed, i, prefix, k, err)
			case wantLast != nil && (err != nil || string(k) != wantLast.key || string(v) != wantLast.value):
				t.Fatalf("seed %d, batch %d: Last(%x) = %x, %q, %v, want %x", seed, i, prefix, k, v, err, wantLast.key)
			}

			key := randKey(1)
			got, err := kv.Get(key)
			if mv, ok := model[string(key)]; ok != (err == nil) || (ok && string(got) != mv) || (!ok && !errors.Is(err, store.ErrNotFound)) {
				t.Fatalf("seed %d, batch %d: Get(%x) = %q, %v, want %q (present %v)", seed, i, key, got, err, mv, ok)
			}
		}
	}
}
