package store

import "bytes"

// Prefixed is a KV that keeps its keys under a prefix of another KV, so that
// several owners (the chain, the application, the node's log) share one
// store without seeing each other's keys. Close does not close the
// underlying KV.
type Prefixed struct {
	kv     KV
	prefix []byte
}

var _ KV = (*Prefixed)(nil)

// WithPrefix returns the part of kv under prefix, which must not be empty.
func WithPrefix(kv KV, prefix string) *Prefixed {
	if prefix == "" {
		panic("store: empty prefix")
	}
	return &Prefixed{kv: kv, prefix: []byte(prefix)}
}

func (p *Prefixed) key(k []byte) []byte {
	if len(k) == 0 {
		return nil // keeps ErrEmptyKey from the store
	}
	return append(bytes.Clone(p.prefix), k...)
}

// Get returns the value of key.
func (p *Prefixed) Get(key []byte) ([]byte, error) { return p.kv.Get(p.key(key)) }

// Has reports whether key is present.
func (p *Prefixed) Has(key []byte) (bool, error) { return p.kv.Has(p.key(key)) }

// Apply writes a batch under the prefix.
func (p *Prefixed) Apply(b *Batch, sync bool) error {
	if b == nil {
		return p.kv.Apply(nil, sync)
	}
	if err := b.Check(); err != nil {
		return err
	}
	ops := b.Ops()
	// One allocation for the ops and one for the bytes, sized up front;
	// each key is built in a scratch buffer and copied once.
	out := Batch{ops: make([]Op, 0, len(ops)), buf: make([]byte, 0, b.size+len(p.prefix)*len(ops))}
	scratch := make([]byte, 0, 64)
	prefixed := func(k []byte) []byte {
		scratch = append(append(scratch[:0], p.prefix...), k...)
		return scratch
	}
	for _, op := range ops {
		switch op.Kind {
		case OpPut:
			out.Put(prefixed(op.Key), op.Value)
		case OpDelete:
			out.Delete(prefixed(op.Key))
		case OpDeleteRange:
			start := p.prefix
			if len(op.Key) > 0 {
				start = p.key(op.Key)
			}
			end := PrefixEnd(p.prefix)
			if op.End != nil {
				end = p.key(op.End)
			}
			out.DeleteRange(start, end)
		}
	}
	return p.kv.Apply(&out, sync)
}

// Scan visits the keys in [start, end) under the prefix, without it.
func (p *Prefixed) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	s := p.prefix
	if len(start) > 0 {
		s = p.key(start)
	}
	e := PrefixEnd(p.prefix)
	if end != nil {
		e = p.key(end)
	}
	n := len(p.prefix)
	return p.kv.Scan(s, e, func(k, v []byte) bool { return fn(k[n:], v) })
}

// Last returns the greatest key with the prefix under the store's prefix.
func (p *Prefixed) Last(prefix []byte) ([]byte, []byte, error) {
	k, v, err := p.kv.Last(append(bytes.Clone(p.prefix), prefix...))
	if err != nil {
		return nil, nil, err
	}
	return k[len(p.prefix):], v, nil
}

// Close does nothing: the underlying KV belongs to the caller.
func (p *Prefixed) Close() error { return nil }
