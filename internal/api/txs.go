package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// submit takes a transaction: the raw body (application/octet-stream,
// text/plain, no Content-Type, or application/x-www-form-urlencoded, which is
// what `curl --data` sends: the body is taken as it is, not form-decoded), or
// {"tx": "<base64>"} (application/json).
// 202 means the node holds it durably as pending, not that it is committed.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
	tx, ok := s.readTx(w, r)
	if !ok {
		return
	}
	s.submitRaw(w, r, tx)
}

// submitRaw hands a transaction to the node and answers 202 with its hash.
func (s *Server) submitRaw(w http.ResponseWriter, r *http.Request, tx []byte) {
	if len(tx) == 0 {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "empty transaction", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), submitTimeout)
	defer cancel()
	if err := s.b.Submit(ctx, tx); err != nil {
		s.submitError(w, err)
		return
	}
	h := epoch.HashTx(tx)
	writeJSON(w, http.StatusAccepted, apijson.Submitted{Hash: hex.EncodeToString(h[:])})
}

// mediaType is a request's media type (application/octet-stream when it
// names none); a malformed Content-Type is answered 400.
func (s *Server) mediaType(w http.ResponseWriter, r *http.Request) (string, bool) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "application/octet-stream", true
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed Content-Type: "+err.Error(), nil)
		return "", false
	}
	return media, true
}

// readTx reads the transaction of a submission, or answers the error.
func (s *Server) readTx(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	media, ok := s.mediaType(w, r)
	if !ok {
		return nil, false
	}
	switch media {
	case "application/octet-stream", "text/plain", "application/x-www-form-urlencoded", "application/json":
	default:
		s.fail(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia,
			fmt.Sprintf("Content-Type %q: want application/octet-stream, text/plain, application/x-www-form-urlencoded (raw) or application/json", media), nil)
		return nil, false
	}
	body, ok := s.readBody(w, r, MaxBodySize)
	if !ok || media != "application/json" {
		return body, ok
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req apijson.SubmitRequest
	if err := dec.Decode(&req); err != nil {
		s.bodyError(w, err)
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the JSON object")
		}
		s.bodyError(w, err)
		return nil, false
	}
	if req.Tx == nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, `missing "tx": want {"tx": "<base64>"}`, nil)
		return nil, false
	}
	tx, err := base64.StdEncoding.DecodeString(*req.Tx)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, `"tx" is not standard base64: `+err.Error(), nil)
		return nil, false
	}
	return tx, true
}

// readBody reads a request's body, of at most limit bytes, within the
// body budget (see Limits): the bytes it reserves stay reserved until
// ServeHTTP has answered the request. A body larger than limit, or than
// the whole budget, is refused (413) before it is read when its
// Content-Length says so; a body that does not fit the budget left is
// refused (503) before it is read, or as soon as a chunk of a body without
// Content-Length does not fit. On failure it has answered.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	limit = min(limit, s.budget.size)
	if r.ContentLength > limit {
		s.fail(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("body of %d bytes, larger than %d", r.ContentLength, limit), nil)
		return nil, false
	}
	rec, _ := w.(*recorder)
	hold := func(n int64) bool {
		if rec == nil || !s.budget.take(n) {
			return false
		}
		rec.held += n
		return true
	}
	var buf []byte
	var err error
	if r.ContentLength >= 0 {
		if !hold(r.ContentLength) {
			s.bodyError(w, errBudget)
			return nil, false
		}
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, buf)
	} else {
		buf, err = readChunked(r.Body, limit, hold)
	}
	if err != nil {
		s.bodyError(w, err)
		return nil, false
	}
	return buf, true
}

// readChunked reads a body of unknown length: a chunk at a time, each
// reserved with hold before it is read, up to limit bytes (a body longer
// is a *http.MaxBytesError).
func readChunked(body io.Reader, limit int64, hold func(int64) bool) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			// One byte beyond limit tells a body of exactly limit bytes
			// from a longer one.
			grow := min(readChunk, limit+1-int64(len(buf)))
			if grow <= 0 {
				return nil, &http.MaxBytesError{Limit: limit}
			}
			if !hold(grow) {
				return nil, errBudget
			}
			buf = slices.Grow(buf, int(grow))
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// bodyError answers a body that could not be read or decoded.
func (s *Server) bodyError(w http.ResponseWriter, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errBudget):
		w.Header().Set("Retry-After", retryAfter)
		s.fail(w, http.StatusServiceUnavailable, codeBusy, errBudget.Error(), nil)
	case errors.As(err, &ne) && ne.Timeout():
		s.fail(w, http.StatusRequestTimeout, codeTimeout, "the request did not arrive within the read timeout", nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.fail(w, http.StatusBadRequest, codeBadRequest, "body shorter than its Content-Length", nil)
	default:
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.fail(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit), nil)
			return
		}
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed body: "+err.Error(), nil)
	}
}

// submitError maps the node's refusal of a transaction to a response.
func (s *Server) submitError(w http.ResponseWriter, err error) {
	status, code, msg := classify(err)
	if status == http.StatusServiceUnavailable && code != codeStopped {
		w.Header().Set("Retry-After", retryAfter)
	}
	if code == codeInternal {
		s.internal(w, err)
		return
	}
	s.fail(w, status, code, msg, nil)
}

// classify maps a submission error to its HTTP status, code and message.
func classify(err error) (int, string, string) {
	switch {
	case errors.Is(err, app.ErrRejected):
		return http.StatusBadRequest, codeRejected, err.Error()
	case errors.Is(err, node.ErrDuplicate), errors.Is(err, epoch.ErrDuplicate):
		return http.StatusConflict, codeDuplicate, err.Error()
	case errors.Is(err, epoch.ErrPendingFull), errors.Is(err, node.ErrBusy):
		return http.StatusServiceUnavailable, codeBusy, err.Error()
	case errors.Is(err, epoch.ErrTxTooLarge):
		return http.StatusRequestEntityTooLarge, codeTooLarge, err.Error()
	case errors.Is(err, epoch.ErrTxEmpty), errors.Is(err, node.ErrNotMember):
		return http.StatusBadRequest, codeBadRequest, err.Error()
	case errors.Is(err, node.ErrStopped):
		return http.StatusServiceUnavailable, codeStopped, err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The node may have taken it after all: a retry may get "duplicate".
		return http.StatusServiceUnavailable, codeUnavailable, "the node did not confirm the transaction in time; it may still be accepted"
	}
	return http.StatusInternalServerError, codeInternal, "internal error"
}

// Limits of POST /v1/txs/batch.
const (
	MaxBatchBody = apijson.MaxBatchBody
	MaxBatchTxs  = apijson.MaxBatchTxs
)

// submitBatch takes many transactions at once: the body is count:u32 then,
// for each, len:u32 and the bytes (big-endian). It answers 200 with the
// number accepted and, for each refused one, its index and reason.
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r, MaxBatchBody)
	if !ok {
		return
	}
	rd := wire.NewReader(body)
	n := rd.Count(MaxBatchTxs, "count")
	txs := make([][]byte, 0, n)
	for i := 0; i < n && rd.Err() == nil; i++ {
		txs = append(txs, rd.Bytes(MaxBodySize, "transaction"))
	}
	if err := rd.Done(); err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed batch: "+err.Error(), nil)
		return
	}
	// The node keeps a transaction it takes until a block holds it: each
	// gets a copy of its own, so that none pins the whole body after the
	// request. The body is garbage from here: its reservation in the
	// budget covers the copies, no larger.
	for i, tx := range txs {
		txs[i] = bytes.Clone(tx)
	}
	ctx, cancel := context.WithTimeout(r.Context(), submitTimeout)
	defer cancel()
	out := apijson.BatchResult{Rejected: []apijson.BatchRejection{}}
	for i, err := range s.b.SubmitBatch(ctx, txs) {
		if err == nil {
			out.Accepted++
			continue
		}
		_, code, msg := classify(err)
		out.Rejected = append(out.Rejected, apijson.BatchRejection{Index: i, Code: code, Message: msg})
	}
	writeJSON(w, http.StatusOK, out)
}

// txStatus answers whether a transaction is committed or pending.
func (s *Server) txStatus(w http.ResponseWriter, r *http.Request) {
	var h epoch.TxHash
	b, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(b) != len(h) {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed hash: want 64 hex digits", nil)
		return
	}
	copy(h[:], b)
	height, committed, pending, err := s.b.TxStatus(h)
	switch {
	case err != nil:
		s.internal(w, err)
	case committed:
		out := apijson.TxStatus{Hash: hex.EncodeToString(h[:]), Status: apijson.TxCommitted, Height: height}
		if s.state != nil {
			res, err := s.state.TxResult(h)
			if err != nil {
				s.internal(w, err)
				return
			}
			out.Code, out.Log, out.Proposal = &res.Code, res.Log, res.Proposal
		}
		writeJSON(w, http.StatusOK, out)
	case pending:
		writeJSON(w, http.StatusOK, apijson.TxStatus{Hash: hex.EncodeToString(h[:]), Status: apijson.TxPending})
	default:
		s.fail(w, http.StatusNotFound, codeNotFound, "no committed or pending transaction "+hex.EncodeToString(h[:]), nil)
	}
}
