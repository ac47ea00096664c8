package energy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tidemark/tidemark/domain"
)

// Callback is the typed view of an energy order callback. Numbers sent as
// numeric strings are read as numbers; orderMoney is already in sun.
// Present tells which numeric fields were sent (not null, not "").
type Callback struct {
	OrderID              string
	OutTradeNo           string
	ReceiveAddress       string
	TriggerTransactionID string
	Hash                 string
	ActiveHash           string
	BandwidthHash        string

	Residue             int64
	Recharge            int64
	State               int64
	AutoType            int64
	Payment             int64
	MaxDelegateNums     int64
	TotalDelegateNums   int64
	DetentionChargeTime int64
	ResourceType        int64
	Source              int64
	EnergyNums          int64
	OrderMoneySun       int64

	Present Fields
}

// Fields is a set of numeric callback fields.
type Fields uint32

// The numeric fields of a callback, for Callback.Present.
const (
	FieldResidue Fields = 1 << iota
	FieldRecharge
	FieldState
	FieldAutoType
	FieldPayment
	FieldMaxDelegateNums
	FieldTotalDelegateNums
	FieldDetentionChargeTime
	FieldResourceType
	FieldSource
	FieldEnergyNums
	FieldOrderMoney
)

// Has reports whether every field of f was sent.
func (c Callback) Has(f Fields) bool { return c.Present&f == f }

// fieldID numbers the known top-level fields, in the platform document's order.
type fieldID uint8

const (
	fUnknown fieldID = iota
	fOrderID
	fOutTradeNo
	fReceiveAddress
	fResidue
	fTriggerTransactionID
	fRecharge
	fState
	fAutoType
	fPayment
	fMaxDelegateNums
	fTotalDelegateNums
	fDetentionChargeTime
	fHash
	fActiveHash
	fBandwidthHash
	fResourceType
	fSource
	fEnergyNums
	fOrderMoney
	fieldCount
)

// fieldNames are the JSON names, indexed by fieldID.
var fieldNames = [fieldCount]string{"", "orderId", "outTradeNo", "receiveAddress", "residue",
	"triggerTransactionId", "recharge", "state", "autoType", "payment", "maxDelegateNums",
	"totalDelegateNums", "detentionChargeTime", "hash", "activeHash", "bandwidthHash",
	"resourceType", "source", "energyNums", "orderMoney"}

// fieldOf maps a JSON key to its field (no allocation: switch on string(b)).
func fieldOf(key []byte) fieldID {
	switch string(key) {
	case "orderId":
		return fOrderID
	case "outTradeNo":
		return fOutTradeNo
	case "receiveAddress":
		return fReceiveAddress
	case "residue":
		return fResidue
	case "triggerTransactionId":
		return fTriggerTransactionID
	case "recharge":
		return fRecharge
	case "state":
		return fState
	case "autoType":
		return fAutoType
	case "payment":
		return fPayment
	case "maxDelegateNums":
		return fMaxDelegateNums
	case "totalDelegateNums":
		return fTotalDelegateNums
	case "detentionChargeTime":
		return fDetentionChargeTime
	case "hash":
		return fHash
	case "activeHash":
		return fActiveHash
	case "bandwidthHash":
		return fBandwidthHash
	case "resourceType":
		return fResourceType
	case "source":
		return fSource
	case "energyNums":
		return fEnergyNums
	case "orderMoney":
		return fOrderMoney
	}
	return fUnknown
}

// valueKind is the JSON kind of a field value.
type valueKind uint8

const (
	kindNull valueKind = iota
	kindString
	kindNumber
	kindOther // bool, object, array
)

// text is a value's text: a string's decoded content or a number's literal.
type text interface{ ~string | ~[]byte }

// applyField stores one field value in c, enforcing its JSON kind. null and
// "" mean absent. Unknown fields are ignored (kept in the event's data).
func applyField[T text](c *Callback, id fieldID, kind valueKind, v T) error {
	if id == fUnknown || kind == kindNull || (kind == kindString && len(v) == 0) {
		return nil
	}
	name := fieldNames[id]
	switch id {
	case fOrderID, fOutTradeNo, fActiveHash: // free text; a number is kept by its literal
		if kind != kindString && kind != kindNumber {
			return kindError(name, "string", "must be a string")
		}
		s := string(v)
		switch id {
		case fOrderID:
			c.OrderID = s
		case fOutTradeNo:
			c.OutTradeNo = s
		default:
			c.ActiveHash = s
		}
		return nil
	case fReceiveAddress, fTriggerTransactionID, fHash, fBandwidthHash:
		if kind != kindString {
			return kindError(name, "string", "must be a string")
		}
		s := string(v)
		switch id {
		case fReceiveAddress:
			c.ReceiveAddress = s
		case fTriggerTransactionID:
			c.TriggerTransactionID = s
		case fHash:
			c.Hash = s
		default:
			c.BandwidthHash = s
		}
		return nil
	case fOrderMoney:
		if kind != kindString && kind != kindNumber {
			return kindError(name, "money", "must be a number or a numeric string")
		}
		sun, err := sunOf(v)
		if err != nil {
			return &domain.ValidationError{Field: name, Rule: "money", Message: fmt.Sprintf("field %s: %v", name, err)}
		}
		c.OrderMoneySun = sun
		c.Present |= FieldOrderMoney
		return nil
	}
	if kind != kindString && kind != kindNumber {
		return kindError(name, "integer", "must be an integer (number or numeric string)")
	}
	n, ok := parseInt(v)
	if !ok {
		return kindError(name, "integer", "must be an integer (number or numeric string) within int64")
	}
	var bit Fields
	switch id {
	case fResidue:
		c.Residue, bit = n, FieldResidue
	case fRecharge:
		c.Recharge, bit = n, FieldRecharge
	case fState:
		c.State, bit = n, FieldState
	case fAutoType:
		c.AutoType, bit = n, FieldAutoType
	case fPayment:
		c.Payment, bit = n, FieldPayment
	case fMaxDelegateNums:
		c.MaxDelegateNums, bit = n, FieldMaxDelegateNums
	case fTotalDelegateNums:
		c.TotalDelegateNums, bit = n, FieldTotalDelegateNums
	case fDetentionChargeTime:
		c.DetentionChargeTime, bit = n, FieldDetentionChargeTime
	case fResourceType:
		c.ResourceType, bit = n, FieldResourceType
	case fSource:
		c.Source, bit = n, FieldSource
	case fEnergyNums:
		c.EnergyNums, bit = n, FieldEnergyNums
	}
	c.Present |= bit
	return nil
}

func kindError(field, rule, msg string) error {
	return &domain.ValidationError{Field: field, Rule: rule, Message: "field " + field + ": " + msg}
}

// sunOf is ParseSun for a value's text, without allocating on success.
func sunOf[T text](v T) (int64, error) {
	for i := 0; i < len(v); i++ {
		if v[i] == '.' {
			return parseSunText(string(v))
		}
	}
	n, ok := parseDigits(v)
	if !ok {
		return parseSunText(string(v)) // builds the precise error
	}
	return n, nil
}

// parseInt reads an optional '-' and ASCII digits into an int64.
func parseInt[T text](v T) (int64, bool) {
	if len(v) > 0 && v[0] == '-' {
		n, ok := parseDigits(v[1:])
		return -n, ok
	}
	return parseDigits(v)
}

// parseDigits reads one or more ASCII digits into a non-negative int64.
func parseDigits[T text](v T) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		d := v[i] - '0'
		if d > 9 || n > (math.MaxInt64-int64(d))/10 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, true
}

// callbackFromObject builds the typed view from a body decoded by
// domain.ParseObject, checking fields in the document's order.
func callbackFromObject(obj map[string]any) (Callback, error) {
	var c Callback
	for id := fOrderID; id < fieldCount; id++ {
		v, ok := obj[fieldNames[id]]
		if !ok {
			continue
		}
		var err error
		switch x := v.(type) {
		case nil:
		case string:
			err = applyField(&c, id, kindString, x)
		case json.Number:
			err = applyField(&c, id, kindNumber, string(x))
		default:
			err = applyField(&c, id, kindOther, "")
		}
		if err != nil {
			return Callback{}, err
		}
	}
	if c.OrderID == "" {
		return Callback{}, kindError("orderId", "required", "is required")
	}
	return c, nil
}

// errScan: stored data that is not a JSON object this scanner can read.
var errScan = errors.New("energy callback data is not a JSON object")

// ParseCallback is the fast typed view of a stored event's Data (canonical
// JSON), used by the folds: a single pass over the bytes, no reflection.
// It applies the same kind rules as Decode (not the value rules).
func ParseCallback(data []byte) (Callback, error) {
	var c Callback
	err := scanObject(data, func(key, val []byte) error {
		id := fieldOf(key)
		if id == fUnknown {
			return nil
		}
		switch val[0] {
		case '"':
			s := val[1 : len(val)-1]
			if bytes.IndexByte(s, '\\') < 0 {
				return applyField(&c, id, kindString, s)
			}
			var u string
			if err := json.Unmarshal(val, &u); err != nil {
				return fmt.Errorf("field %s: %w", fieldNames[id], errScan)
			}
			return applyField(&c, id, kindString, u)
		case 'n':
			if string(val) == "null" {
				return nil
			}
			return applyField(&c, id, kindOther, "")
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return applyField(&c, id, kindNumber, val)
		default:
			return applyField(&c, id, kindOther, "")
		}
	})
	if err != nil {
		return Callback{}, err
	}
	if c.OrderID == "" {
		return Callback{}, kindError("orderId", "required", "is required")
	}
	return c, nil
}
