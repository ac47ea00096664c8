package energy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/internal/canonjson"
)

// Names of the energy source, its event type and its streams (domain.md §3).
const (
	Source       = "energy"
	EventType    = "energy.OrderCallback"
	StreamPrefix = "energy.order-"
)

// StreamOf is the stream of an order's callbacks.
func StreamOf(orderID string) string { return StreamPrefix + orderID }

// Decoder turns an energy callback body into an event ready to append.
// With a Secret and a Scheme other than none ("" means DefaultScheme) the
// body's sign is checked; otherwise the event is marked unverified.
type Decoder struct {
	Scheme Scheme
	Secret string
}

// Decode checks a body in this order: well-formed JSON object (else
// domain.ErrMalformed, 400), signature (else a *SignatureError wrapping
// domain.ErrUnauthorized, 401), field rules (else a *domain.ValidationError,
// 422). It returns the event and the signature verdict
// (domain.SignatureValid or domain.SignatureUnverified).
func (d Decoder) Decode(raw []byte) (domain.Accepted, string, error) {
	data, fast := canonjson.Object(raw)
	verify := d.Secret != "" && d.Scheme != SchemeNone
	if fast && !verify {
		// The common case in one pass over the canonical bytes. Whatever
		// it does not admit takes the full path below, which finds and
		// words the first broken rule in the document's order.
		if c, err := ParseCallback(data); err == nil && rulesHold(&c) {
			return accepted(c.OrderID, data), domain.SignatureUnverified, nil
		}
	}
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return domain.Accepted{}, "", err
	}
	verdict := domain.SignatureUnverified
	if verify {
		scheme, err := ParseScheme(string(d.Scheme))
		if err != nil {
			return domain.Accepted{}, "", err
		}
		if err := verifyObject(scheme, obj, d.Secret); err != nil {
			return domain.Accepted{}, "", err
		}
		verdict = domain.SignatureValid
	}
	c, err := callbackFromObject(obj)
	if err != nil {
		return domain.Accepted{}, "", err
	}
	if !rulesHold(&c) { // validator only to find and word the broken rule
		if err := validateCallback(&c); err != nil {
			return domain.Accepted{}, "", err
		}
	}
	if !fast {
		if data, err = domain.Canonical(obj); err != nil {
			return domain.Accepted{}, "", err
		}
	}
	return accepted(c.OrderID, data), verdict, nil
}

func accepted(orderID string, data []byte) domain.Accepted {
	return domain.Accepted{
		Source: Source,
		Stream: StreamOf(orderID),
		Type:   EventType,
		ID:     domain.EventID(Source, data),
		Data:   data,
	}
}

// ruleNames maps validator tags to the rule names reported to callers.
var ruleNames = map[string]string{"notblank": "required", "trigger_tx": "tx_hash"}

// ruleMessages explain each rule, after "field <name>: ".
var ruleMessages = map[string]string{
	"required":     "is required",
	"tron_address": "must be a TRON base58check address (34 characters starting with T, valid checksum)",
	"tx_hash":      "must be a transaction hash of 64 hex digits",
	"min":          "must be an integer ≥ 0",
}

// validateCallback applies the value rules of domain.md §2 to the fields
// that were sent, reporting the first broken rule in document order.
func validateCallback(c *Callback) error {
	v, err := rulesValidator()
	if err != nil {
		return err
	}
	r := callbackRules{
		OrderID:              c.OrderID,
		ReceiveAddress:       c.ReceiveAddress,
		TriggerTransactionID: c.TriggerTransactionID,
		Hash:                 c.Hash,
		BandwidthHash:        c.BandwidthHash,
	}
	for _, p := range []struct {
		bit Fields
		dst **int64
		src *int64
	}{
		{FieldResidue, &r.Residue, &c.Residue},
		{FieldRecharge, &r.Recharge, &c.Recharge},
		{FieldState, &r.State, &c.State},
		{FieldAutoType, &r.AutoType, &c.AutoType},
		{FieldPayment, &r.Payment, &c.Payment},
		{FieldMaxDelegateNums, &r.MaxDelegateNums, &c.MaxDelegateNums},
		{FieldTotalDelegateNums, &r.TotalDelegateNums, &c.TotalDelegateNums},
		{FieldDetentionChargeTime, &r.DetentionChargeTime, &c.DetentionChargeTime},
		{FieldResourceType, &r.ResourceType, &c.ResourceType},
		{FieldSource, &r.Source, &c.Source},
		{FieldEnergyNums, &r.EnergyNums, &c.EnergyNums},
		{FieldOrderMoney, &r.OrderMoney, &c.OrderMoneySun},
	} {
		if c.Has(p.bit) {
			*p.dst = p.src
		}
	}
	err = v.Struct(&r)
	if err == nil {
		return nil
	}
	var fes validationErrors
	if !errors.As(err, &fes) || len(fes) == 0 {
		return fmt.Errorf("validating energy callback: %w", err)
	}
	fe := fes[0]
	rule := fe.Tag()
	if name, ok := ruleNames[rule]; ok {
		rule = name
	}
	msg, ok := ruleMessages[rule]
	switch rule {
	case "enum":
		msg, ok = "must be one of "+strings.Join(strings.Fields(fe.Param()), ", "), true
	case "max":
		msg, ok = fmt.Sprintf("must be at most %s (got %v)", fe.Param(), fe.Value()), true
		if s, isString := fe.Value().(string); isString {
			msg = fmt.Sprintf("must be at most %s bytes long (got %d)", fe.Param(), len(s))
		}
	}
	if !ok {
		msg = "breaks rule " + rule
	}
	return &domain.ValidationError{Field: fe.Field(), Rule: rule, Message: "field " + fe.Field() + ": " + msg}
}

// rulesHold is validateCallback's verdict for the common case, without
// validator's reflection: true only when every rule holds. When it says
// false, validateCallback finds and words the broken rule. It must never
// admit what validateCallback rejects (TestRulesHoldAgreesWithValidator).
func rulesHold(c *Callback) bool {
	if strings.TrimSpace(c.OrderID) == "" || len(c.OrderID) > domain.MaxIDLen ||
		(c.ReceiveAddress != "" && !ValidAddress(c.ReceiveAddress)) ||
		(c.TriggerTransactionID != "" && c.TriggerTransactionID != triggerFirst && !ValidTxHash(c.TriggerTransactionID)) ||
		(c.Hash != "" && !ValidTxHash(c.Hash)) ||
		(c.BandwidthHash != "" && !ValidTxHash(c.BandwidthHash)) {
		return false
	}
	for _, r := range [...]struct {
		bit Fields
		v   int64
		max int64 // -1: no upper bound
	}{
		{FieldResidue, c.Residue, -1},
		{FieldRecharge, c.Recharge, 1},
		{FieldState, c.State, 2},
		{FieldAutoType, c.AutoType, 1},
		{FieldPayment, c.Payment, 1},
		{FieldMaxDelegateNums, c.MaxDelegateNums, -1},
		{FieldTotalDelegateNums, c.TotalDelegateNums, -1},
		{FieldDetentionChargeTime, c.DetentionChargeTime, -1},
		{FieldResourceType, c.ResourceType, 1},
		{FieldSource, c.Source, 2},
		{FieldEnergyNums, c.EnergyNums, MaxEnergyNums},
		{FieldOrderMoney, c.OrderMoneySun, MaxOrderMoneySun},
	} {
		if c.Has(r.bit) && (r.v < 0 || (r.max >= 0 && r.v > r.max)) {
			return false
		}
	}
	return true
}
