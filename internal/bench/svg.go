package bench

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// palette colours the curves of successive sizes.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

func colour(i int) string { return palette[i%len(palette)] }

// svg accumulates an SVG document.
type svg struct {
	b bytes.Buffer
}

func newSVG(w, h int) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n", w, h, w, h)
	fmt.Fprintf(&s.b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", w, h)
	return s
}

func (s *svg) raw(format string, args ...any) { fmt.Fprintf(&s.b, format+"\n", args...) }

// text writes escaped text; anchor is start, middle or end.
func (s *svg) text(x, y float64, anchor, attrs, text string) {
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(text))
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, attrs, esc.String())
}

func (s *svg) line(x1, y1, x2, y2 float64, attrs string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>`+"\n", x1, y1, x2, y2, attrs)
}

func (s *svg) finish(w io.Writer) error {
	s.b.WriteString("</svg>\n")
	_, err := w.Write(s.b.Bytes())
	return err
}

// pathData is the d attribute of a polyline through points.
func pathData(pts [][2]float64) string {
	var b strings.Builder
	for i, p := range pts {
		if i == 0 {
			fmt.Fprintf(&b, "M%.1f %.1f", p[0], p[1])
		} else {
			fmt.Fprintf(&b, " L%.1f %.1f", p[0], p[1])
		}
	}
	return b.String()
}

// axis maps data values to pixels.
type axis struct {
	lo, hi    float64 // data range
	from, to  float64 // pixel range
	log       bool
	ticks     []float64
	tickLabel func(float64) string
}

func (a axis) px(v float64) float64 {
	if a.log {
		v = math.Log10(max(v, a.lo))
		return a.from + (v-math.Log10(a.lo))/(math.Log10(a.hi)-math.Log10(a.lo))*(a.to-a.from)
	}
	return a.from + (v-a.lo)/(a.hi-a.lo)*(a.to-a.from)
}

// niceStep is the 1-2-5 step that cuts span into about n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// linearAxis runs from 0 to a round value at or above hi.
func linearAxis(hi float64, from, to float64, label func(float64) string) axis {
	if hi <= 0 {
		hi = 1
	}
	step := niceStep(hi, 5)
	top := math.Ceil(hi/step-1e-9) * step
	a := axis{lo: 0, hi: top, from: from, to: to, tickLabel: label}
	for v := 0.0; v <= top+step/2; v += step {
		a.ticks = append(a.ticks, v)
	}
	return a
}

// logAxis spans whole decades around [lo, hi], with ticks at 1, 2 and 5.
func logAxis(lo, hi float64, from, to float64, label func(float64) string) axis {
	if lo <= 0 || hi <= 0 {
		lo, hi = 1, 1000
	}
	a := axis{log: true, lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi))), from: from, to: to, tickLabel: label}
	if a.hi <= a.lo {
		a.hi = a.lo * 10
	}
	for d := a.lo; d < a.hi*1.01; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v <= a.hi*1.0001 {
				a.ticks = append(a.ticks, v)
			}
		}
	}
	return a
}

// compact writes 1500 as 1.5k, 20000 as 20k.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

func trimFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// frame draws the grid, the ticks and the axis titles of a plot area.
func (s *svg) frame(x, y axis, xTitle, yTitle string) {
	left, right, bottom, top := x.from, x.to, y.from, y.to
	for _, v := range y.ticks {
		py := y.px(v)
		s.line(left, py, right, py, `stroke="#e5e5e5"`)
		s.text(left-8, py+4, "end", `fill="#333"`, y.tickLabel(v))
	}
	for _, v := range x.ticks {
		px := x.px(v)
		s.line(px, bottom, px, top, `stroke="#f0f0f0"`)
		s.line(px, bottom, px, bottom+5, `stroke="#333"`)
		s.text(px, bottom+20, "middle", `fill="#333"`, x.tickLabel(v))
	}
	s.line(left, bottom, right, bottom, `stroke="#333"`)
	s.line(left, bottom, left, top, `stroke="#333"`)
	s.text((left+right)/2, bottom+45, "middle", `font-size="14"`, xTitle)
	s.raw(`<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle" font-size="14">%s</text>`, left-58, (top+bottom)/2, escape(yTitle))
}

func escape(t string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(t))
	return b.String()
}

// bySize groups runs by network size, sizes in order of appearance.
func bySize(runs []Report) (sizes []int, groups map[int][]Report) {
	groups = map[int][]Report{}
	for _, r := range runs {
		n := r.Config.Nodes
		if _, ok := groups[n]; !ok {
			sizes = append(sizes, n)
		}
		groups[n] = append(groups[n], r)
	}
	return sizes, groups
}

// LatencyChart draws, for each network size, the p50 (solid) and p99
// (dashed) commit latency against the committed throughput; a hollow
// marker is a saturated run.
func LatencyChart(w io.Writer, runs []Report, subtitle string) error {
	const width, height = 960, 560
	const left, right, top, bottom = 90.0, 750.0, 70.0, 480.0
	sizes, groups := bySize(runs)
	maxX, minY, maxY := 0.0, math.Inf(1), 0.0
	for _, r := range runs {
		l := r.Result.Latency
		if l.Samples == 0 {
			continue
		}
		maxX = max(maxX, r.Result.CommittedTPS)
		minY = min(minY, l.P50)
		maxY = max(maxY, l.P99)
	}
	if math.IsInf(minY, 1) {
		minY, maxY = 1, 1000
	}
	x := linearAxis(maxX*1.05, left, right, compact)
	y := logAxis(minY, maxY, bottom, top, compact)

	s := newSVG(width, height)
	s.text(width/2, 28, "middle", `font-size="17" font-weight="bold"`, "Commit latency against committed throughput")
	s.text(width/2, 48, "middle", `fill="#555"`, subtitle)
	s.frame(x, y, "committed transactions per second", "commit latency, ms (log scale)")
	for i, n := range sizes {
		g := slices.Clone(groups[n])
		slices.SortStableFunc(g, func(a, b Report) int { return cmp.Compare(a.Result.CommittedTPS, b.Result.CommittedTPS) })
		var p50, p99 [][2]float64
		var marks []struct {
			x, y50, y99 float64
			sat         bool
		}
		for _, r := range g {
			l := r.Result.Latency
			if l.Samples == 0 {
				continue
			}
			px := x.px(r.Result.CommittedTPS)
			p50 = append(p50, [2]float64{px, y.px(l.P50)})
			p99 = append(p99, [2]float64{px, y.px(l.P99)})
			marks = append(marks, struct {
				x, y50, y99 float64
				sat         bool
			}{px, y.px(l.P50), y.px(l.P99), r.Saturated})
		}
		c := colour(i)
		s.raw(`<path class="p50" data-nodes="%d" d="%s" fill="none" stroke="%s" stroke-width="2.2"/>`, n, pathData(p50), c)
		s.raw(`<path class="p99" data-nodes="%d" d="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-dasharray="7 4"/>`, n, pathData(p99), c)
		for _, m := range marks {
			fill := c
			if m.sat {
				fill = "white"
			}
			s.raw(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="%s" stroke-width="1.5"/>`, m.x, m.y50, fill, c)
			s.raw(`<rect x="%.1f" y="%.1f" width="6" height="6" fill="%s" stroke="%s" stroke-width="1.2"/>`, m.x-3, m.y99-3, fill, c)
		}
	}
	// Legend, right of the plot.
	lx, ly := right+28, top+14
	rows := len(sizes) + 3
	s.raw(`<rect x="%.1f" y="%.1f" width="180" height="%d" fill="white" stroke="#bbb"/>`, lx-10, ly-14, rows*20+8)
	for i, n := range sizes {
		yy := ly + float64(i)*20
		s.line(lx, yy, lx+28, yy, fmt.Sprintf(`stroke="%s" stroke-width="3"`, colour(i)))
		s.text(lx+36, yy+4, "start", "", fmt.Sprintf("n = %d", n))
	}
	yy := ly + float64(len(sizes))*20
	s.line(lx, yy, lx+28, yy, `stroke="#333" stroke-width="2.2"`)
	s.text(lx+36, yy+4, "start", "", "p50 (circles)")
	yy += 20
	s.line(lx, yy, lx+28, yy, `stroke="#333" stroke-width="1.6" stroke-dasharray="7 4"`)
	s.text(lx+36, yy+4, "start", "", "p99 (squares)")
	yy += 20
	s.raw(`<circle cx="%.1f" cy="%.1f" r="4" fill="white" stroke="#333" stroke-width="1.5"/>`, lx+14, yy)
	s.text(lx+36, yy+4, "start", "", "hollow: saturated")
	return s.finish(w)
}

// CostChart draws, against the network size, the CPU milliseconds and
// the bytes sent per committed transaction (all nodes together), each
// size at the run given (its highest unsaturated rate). The bytes panel
// has the reliable broadcast's floor for comparison: each proposal's
// shards go from the proposer to n−1 nodes and are echoed by all n to
// n−1, (n+1)(n−1)/(n−2f) times the transaction.
func CostChart(w io.Writer, runs []Report, subtitle string) error {
	const width, height = 980, 560
	s := newSVG(width, height)
	s.text(width/2, 28, "middle", `font-size="17" font-weight="bold"`, "Cost per committed transaction against network size")
	s.text(width/2, 48, "middle", `fill="#555"`, subtitle)
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b Report) int { return cmp.Compare(a.Config.Nodes, b.Config.Nodes) })
	maxN := 1
	for _, r := range runs {
		maxN = max(maxN, r.Config.Nodes)
	}
	type panel struct {
		left, right float64
		title, unit string
		value       func(Report) float64
		floor       func(Report) float64
		colour      string
	}
	panels := []panel{
		{left: 90, right: 460, title: "CPU per transaction", unit: "CPU ms per tx (all nodes)", colour: "#1f77b4",
			value: func(r Report) float64 { return r.Result.CPU.Per1000Txs }},
		{left: 580, right: 950, title: "Bytes sent per transaction", unit: "bytes sent per tx (all nodes)", colour: "#d62728",
			value: func(r Report) float64 { return r.Result.BytesPerTx },
			floor: func(r Report) float64 {
				n := float64(r.Config.Nodes)
				f := float64((r.Config.Nodes - 1) / 3)
				size := r.Result.MeanTxBytes
				if size == 0 {
					size = float64(r.Config.TxSize)
				}
				return (n + 1) * (n - 1) / (n - 2*f) * size
			}},
	}
	const top, bottom = 90.0, 420.0
	for _, p := range panels {
		hi := 0.0
		for _, r := range runs {
			hi = max(hi, p.value(r))
			if p.floor != nil {
				hi = max(hi, p.floor(r))
			}
		}
		x := axis{lo: 0, hi: float64(maxN) + 2, from: p.left, to: p.right, tickLabel: func(v float64) string { return strconv.Itoa(int(v)) }}
		for _, r := range runs {
			x.ticks = append(x.ticks, float64(r.Config.Nodes))
		}
		label := compact
		if hi < 10 {
			label = trimFloat
		}
		y := linearAxis(hi*1.15, bottom, top, label)
		s.text((p.left+p.right)/2, top-14, "middle", `font-size="15" font-weight="bold"`, p.title)
		s.frame(x, y, "nodes (n)", p.unit)
		if p.floor != nil {
			var pts [][2]float64
			for _, r := range runs {
				pts = append(pts, [2]float64{x.px(float64(r.Config.Nodes)), y.px(p.floor(r))})
			}
			s.raw(`<path class="floor" d="%s" fill="none" stroke="#888" stroke-width="1.5" stroke-dasharray="5 4"/>`, pathData(pts))
			s.line(p.left+14, top+14, p.left+42, top+14, `stroke="#888" stroke-width="1.5" stroke-dasharray="5 4"`)
			s.text(p.left+48, top+18, "start", `fill="#555"`, "broadcast floor (n+1)(n−1)/(n−2f) × tx size")
		}
		var pts [][2]float64
		for _, r := range runs {
			pts = append(pts, [2]float64{x.px(float64(r.Config.Nodes)), y.px(p.value(r))})
		}
		s.raw(`<path class="cost" d="%s" fill="none" stroke="%s" stroke-width="2.2"/>`, pathData(pts), p.colour)
		for i, r := range runs {
			fill := p.colour
			if r.Saturated {
				fill = "white"
			}
			s.raw(`<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s" stroke="%s" stroke-width="1.5"/>`, pts[i][0], pts[i][1], fill, p.colour)
			v := p.value(r)
			txt := compact(v)
			if v < 10 {
				txt = strconv.FormatFloat(v, 'f', 3, 64)
			}
			s.text(pts[i][0], pts[i][1]-10, "middle", `font-size="12" fill="#222"`, txt)
		}
	}
	var at []string
	for _, r := range runs {
		note := fmt.Sprintf("n=%d: %s → %s", r.Config.Nodes, compact(r.Config.Rate), compact(math.Round(r.Result.CommittedTPS)))
		if r.Saturated {
			note += " (saturated)"
		}
		at = append(at, note)
	}
	s.text(width/2, 505, "middle", `fill="#555" font-size="12"`, "Each size at its highest unsaturated offered rate (offered → committed tx/s; hollow: every run saturated):")
	s.text(width/2, 525, "middle", `fill="#555" font-size="12"`, strings.Join(at, "   ·   "))
	return s.finish(w)
}

// msgSeries is one agreement's messages handled per node per epoch, each
// run's figure by network size.
type msgSeries struct {
	agreement string
	byNodes   map[int][]float64
}

func (m msgSeries) sizes() []int { return slices.Sorted(maps.Keys(m.byNodes)) }

// mean is the mean figure of the runs of n nodes.
func (m msgSeries) mean(n int) float64 {
	sum := 0.0
	for _, v := range m.byNodes[n] {
		sum += v
	}
	return sum / float64(len(m.byNodes[n]))
}

// reference is k·n², k set so that it meets the mean at the smallest n.
func (m msgSeries) reference(n float64) float64 {
	n0 := m.sizes()[0]
	return m.mean(n0) / float64(n0*n0) * n * n
}

// label names the series in the legend.
func (m msgSeries) label() string {
	if m.agreement == "" {
		return "agreement not recorded"
	}
	return m.agreement
}

// messageSeries groups the runs that measured messages per epoch by
// agreement, in order of appearance.
func messageSeries(runs []Report) []msgSeries {
	var out []msgSeries
	index := map[string]int{}
	for _, r := range runs {
		v := r.Result.Consensus.MessagesPerEpoch
		if v <= 0 {
			continue
		}
		i, ok := index[r.Config.Agreement]
		if !ok {
			i = len(out)
			index[r.Config.Agreement] = i
			out = append(out, msgSeries{agreement: r.Config.Agreement, byNodes: map[int][]float64{}})
		}
		out[i].byNodes[r.Config.Nodes] = append(out[i].byNodes[r.Config.Nodes], v)
	}
	return out
}

// MessagesChart draws, against the network size, the consensus messages
// each node handled per epoch, on log scales: one solid curve per
// agreement through the mean of its runs at each size (small dots: the
// runs, when several), and dashed in the same colour k·n² through its
// smallest size, the growth of a quadratic agreement (slope 2).
func MessagesChart(w io.Writer, runs []Report, subtitle string) error {
	const width, height = 960, 560
	const left, right, top, bottom = 90.0, 750.0, 70.0, 480.0
	series := messageSeries(runs)
	x, y := messageAxes(series, left, right, top, bottom)
	s := newSVG(width, height)
	s.text(width/2, 28, "middle", `font-size="17" font-weight="bold"`, "Consensus messages handled per node per epoch against network size")
	s.text(width/2, 48, "middle", `fill="#555"`, subtitle)
	s.frame(x, y, "nodes (n, log scale)", "messages handled per node per epoch (log scale)")
	for i, m := range series {
		s.messageCurve(m, x, y, colour(i))
	}
	s.messageLegend(series, right+28, top+14)
	return s.finish(w)
}

// messageAxes fit every series and its reference, both on log scales:
// a power of n is a straight line, its slope the exponent.
func messageAxes(series []msgSeries, left, right, top, bottom float64) (x, y axis) {
	lo, hi := math.Inf(1), 0.0
	var sizes []int
	for _, m := range series {
		for _, n := range m.sizes() {
			lo = min(lo, slices.Min(m.byNodes[n]), m.reference(float64(n)))
			hi = max(hi, slices.Max(m.byNodes[n]), m.reference(float64(n)))
			sizes = append(sizes, n)
		}
	}
	x = axis{log: true, lo: 1, hi: 10, from: left, to: right, tickLabel: func(v float64) string { return strconv.Itoa(int(v)) }}
	if len(sizes) > 0 {
		slices.Sort(sizes)
		sizes = slices.Compact(sizes)
		x.lo, x.hi = float64(sizes[0])*0.8, float64(sizes[len(sizes)-1])*1.25
		for _, n := range sizes {
			x.ticks = append(x.ticks, float64(n))
		}
	}
	if hi == 0 {
		lo, hi = 1, 1000
	}
	return x, logAxis(lo, hi, bottom, top, compact)
}

// messageCurve draws one series: its means, its runs and its reference.
func (s *svg) messageCurve(m msgSeries, x, y axis, c string) {
	sizes := m.sizes()
	var ref [][2]float64
	for n := float64(sizes[0]); n <= float64(sizes[len(sizes)-1])+1e-9; n += 0.25 {
		ref = append(ref, [2]float64{x.px(n), y.px(m.reference(n))})
	}
	s.raw(`<path class="reference" data-agreement="%s" d="%s" fill="none" stroke="%s" stroke-width="1.3" stroke-dasharray="6 4" opacity="0.7"/>`, escape(m.agreement), pathData(ref), c)
	var pts [][2]float64
	for _, n := range sizes {
		pts = append(pts, [2]float64{x.px(float64(n)), y.px(m.mean(n))})
	}
	s.raw(`<path class="messages" data-agreement="%s" d="%s" fill="none" stroke="%s" stroke-width="2.2"/>`, escape(m.agreement), pathData(pts), c)
	for i, n := range sizes {
		if runs := m.byNodes[n]; len(runs) > 1 {
			for _, v := range runs {
				s.raw(`<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s" opacity="0.6"/>`, pts[i][0], y.px(v), c)
			}
		}
		s.raw(`<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s" stroke="%s" stroke-width="1.5"/>`, pts[i][0], pts[i][1], c, c)
		s.text(pts[i][0], pts[i][1]-10, "middle", `font-size="12" fill="#222"`, compact(math.Round(m.mean(n))))
	}
}

// messageLegend names the series, right of the plot.
func (s *svg) messageLegend(series []msgSeries, lx, ly float64) {
	rows := len(series) + 2
	s.raw(`<rect x="%.1f" y="%.1f" width="190" height="%d" fill="white" stroke="#bbb"/>`, lx-10, ly-14, rows*20+8)
	for i, m := range series {
		yy := ly + float64(i)*20
		s.line(lx, yy, lx+28, yy, fmt.Sprintf(`stroke="%s" stroke-width="3"`, colour(i)))
		s.text(lx+36, yy+4, "start", "", m.label())
	}
	yy := ly + float64(len(series))*20
	s.line(lx, yy, lx+28, yy, `stroke="#333" stroke-width="1.3" stroke-dasharray="6 4"`)
	s.text(lx+36, yy+4, "start", "", "k·n² (slope 2) through")
	s.text(lx+36, yy+20, "start", "", "the smallest n")
}
