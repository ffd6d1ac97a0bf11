package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/mass-consensus/mass/light"
)

// follow polls the nodes until Close: each poll asks every node for its
// status and verifies the headers up to the highest certified height
// reported, a bounded number at a time. While behind and progressing, it
// polls again at once.
func (g *Gateway) follow() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.Poll)
	defer t.Stop()
	for {
		behind, progressed := g.poll(g.ctx)
		if behind && progressed && g.ctx.Err() == nil {
			continue
		}
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
		case <-g.kick:
		}
	}
}

// poll asks every node for its status, then verifies headers toward the
// highest certified height reported. It says whether the gateway is still
// behind that height and whether it verified anything.
func (g *Gateway) poll(ctx context.Context) (behind, progressed bool) {
	sctx, cancel := context.WithTimeout(ctx, min(g.cfg.Timeout, maxStatusWait))
	var wg sync.WaitGroup
	for _, u := range g.nodes {
		wg.Go(func() { g.pollStatus(sctx, u) })
	}
	wg.Wait()
	cancel()
	// Each segment is bounded by the request timeout; the whole sync by
	// twice that, so that a node that answers slowly delays it only so
	// long.
	ctx, cancel = context.WithTimeout(ctx, 2*g.cfg.Timeout)
	defer cancel()
	return g.sync(ctx)
}

// pollStatus asks a node for its status and notes the answer.
func (g *Gateway) pollStatus(ctx context.Context, u *upstream) {
	st, err := u.c.Status(ctx)
	if err != nil {
		g.note(u, err)
		return
	}
	if st.ChainID != g.chainID {
		g.note(u, faulty("its status is of chain %q, not %q", st.ChainID, g.chainID))
		return
	}
	u.ok(st.Certified, time.Now())
}

// sync verifies headers toward the highest height a node that is not
// faulty reports, asking the nodes that report the highest first; a node
// whose headers fail verification is marked faulty and the next is asked.
func (g *Gateway) sync(ctx context.Context) (behind, progressed bool) {
	now := time.Now()
	type claim struct {
		u      *upstream
		height uint64
	}
	var claims []claim
	for _, u := range g.nodes {
		i := u.info(now)
		if i.State == stateOK {
			claims = append(claims, claim{u, i.Certified})
		}
	}
	slices.SortStableFunc(claims, func(a, b claim) int {
		switch {
		case a.height > b.height:
			return -1
		case a.height < b.height:
			return 1
		}
		return 0
	})
	pages := 0
	for _, c := range claims {
		for g.Height() < c.height && pages < maxPagesPerPoll {
			if ctx.Err() != nil {
				return true, progressed
			}
			from := g.Height() + 1
			to := min(c.height, from+light.PageSize-1)
			pages++
			if err := g.verifySegment(ctx, c.u, from, to); err != nil {
				g.note(c.u, err)
				g.log.Debug("gateway: headers not verified", "node", c.u.base, "from", from, "to", to, "err", err)
				break
			}
			progressed = true
		}
	}
	if progressed {
		g.advMu.Lock()
		close(g.advanced)
		g.advanced = make(chan struct{})
		g.advMu.Unlock()
	}
	if len(claims) > 0 {
		behind = g.Height() < claims[0].height
	}
	return behind, progressed
}

// verifySegment fetches headers from..to from a node and verifies them.
func (g *Gateway) verifySegment(ctx context.Context, u *upstream, from, to uint64) error {
	r := &light.Remote{Base: u.base, HTTP: g.http}
	seg, err := r.Segment(ctx, from, to)
	if err != nil {
		return err
	}
	if len(seg.Headers) != int(to-from+1) {
		return faulty("%d headers for heights %d to %d", len(seg.Headers), from, to)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lc.Verify(seg)
}
