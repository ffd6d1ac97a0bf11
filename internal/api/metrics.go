package api

import (
	"bytes"
	"cmp"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Metric families of the API itself; an extra Metric of one of these names
// is dropped.
const (
	metricHeight    = "mass_height"
	metricCertified = "mass_certified_height"
	metricEpoch     = "mass_epoch"
	metricPending   = "mass_pending_txs"
	metricPeers     = "mass_peers"
	metricTxRate    = "mass_tx_per_second"
	metricRequests  = "mass_api_requests_total"
	metricRejected  = "mass_api_rejected_total"
)

var reservedMetrics = map[string]bool{
	metricHeight: true, metricCertified: true, metricEpoch: true, metricPending: true,
	metricPeers: true, metricTxRate: true, metricRequests: true, metricRejected: true,
}

// family is one metric name with its samples, written together.
type family struct {
	name, help, typ string
	samples         []sample
	series          map[string]bool // rendered label sets, for extra families
}

type sample struct {
	labels map[string]string
	value  float64
}

// serveMetrics writes the Prometheus text exposition format (version
// 0.0.4): the node's status as gauges, the extra Metrics, and the API's own
// counters.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	st := s.b.Status()
	gauge := func(name, help string, v float64) *family {
		return &family{name: name, help: help, typ: "gauge", samples: []sample{{value: v}}}
	}
	fams := []*family{
		gauge(metricHeight, "Height of the last block the node applied.", float64(st.Height)),
		gauge(metricCertified, "Height of the last certified block.", float64(st.Certified)),
		gauge(metricEpoch, "Next epoch of the consensus engine.", float64(st.Epoch)),
		gauge(metricPending, "Transactions waiting to be committed.", float64(st.Pending)),
		gauge(metricPeers, "Peers connected.", float64(st.Peers)),
		gauge(metricTxRate, "Transactions committed per second over the last ten seconds.", st.TxRate),
	}
	fams = append(fams, s.extraFamilies()...)
	fams = append(fams, s.apiFamilies()...)

	var buf bytes.Buffer
	for _, f := range fams {
		writeFamily(&buf, f)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// extraFamilies groups the Metrics func's samples by name, in the order
// names first appear, each family's samples sorted by labels (the output is
// the same from one scrape to the next). It drops samples with a reserved or
// invalid name or label name, and repeats of a series.
func (s *Server) extraFamilies() []*family {
	if s.metrics == nil {
		return nil
	}
	var out []*family
	byName := map[string]*family{}
	for _, m := range s.metrics() {
		if reservedMetrics[m.Name] || !validMetricName(m.Name) || !validLabelNames(m.Labels) {
			s.log.Debug("metrics: dropping a metric with a reserved or invalid name", "name", m.Name)
			continue
		}
		f := byName[m.Name]
		if f == nil {
			typ := m.Type
			if typ != "counter" && typ != "gauge" {
				typ = "untyped"
			}
			f = &family{name: m.Name, help: m.Help, typ: typ, series: map[string]bool{}}
			byName[m.Name] = f
			out = append(out, f)
		}
		key := renderLabels(m.Labels)
		if f.series[key] {
			continue
		}
		f.series[key] = true
		f.samples = append(f.samples, sample{labels: m.Labels, value: m.Value})
	}
	for _, f := range out {
		slices.SortStableFunc(f.samples, func(a, b sample) int {
			return strings.Compare(renderLabels(a.labels), renderLabels(b.labels))
		})
	}
	return out
}

// apiFamilies are the API's own counters.
func (s *Server) apiFamilies() []*family {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := &family{name: metricRequests, help: "HTTP requests answered, by route pattern and status code.", typ: "counter"}
	keys := slices.SortedFunc(maps.Keys(s.requests), func(a, b requestKey) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.code, b.code))
	})
	for _, k := range keys {
		req.samples = append(req.samples, sample{
			labels: map[string]string{"route": k.route, "code": strconv.Itoa(k.code)},
			value:  float64(s.requests[k]),
		})
	}
	rej := &family{name: metricRejected, help: "Requests refused, by reason (the error code).", typ: "counter"}
	for _, reason := range slices.Sorted(maps.Keys(s.rejected)) {
		rej.samples = append(rej.samples, sample{labels: map[string]string{"reason": reason}, value: float64(s.rejected[reason])})
	}
	return []*family{req, rej}
}

func writeFamily(buf *bytes.Buffer, f *family) {
	buf.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
	buf.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
	for _, smp := range f.samples {
		buf.WriteString(f.name)
		buf.WriteString(renderLabels(smp.labels))
		buf.WriteByte(' ')
		buf.WriteString(formatValue(smp.value))
		buf.WriteByte('\n')
	}
}

// renderLabels writes a label set as {a="x",b="y"}, names sorted, values
// escaped; "" for none.
func renderLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + `="` + escapeLabel(labels[k]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// validMetricName: [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(name string) bool {
	for i, c := range name {
		if !(c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return name != ""
}

// validLabelNames: each [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
// (reserved by Prometheus).
func validLabelNames(labels map[string]string) bool {
	for name := range labels {
		if name == "" || strings.HasPrefix(name, "__") {
			return false
		}
		for i, c := range name {
			if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}
