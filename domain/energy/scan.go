package energy

// A minimal reader of one JSON object's top-level members, for the fold's
// hot path. It trusts that stored data is valid JSON (it came from
// domain.Canonical) but never reads out of bounds on anything else.

func scanObject(d []byte, member func(key, val []byte) error) error {
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return errScan
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return endOfData(d, i+1)
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return errScan
		}
		keyEnd := stringEnd(d, i)
		if keyEnd < 0 {
			return errScan
		}
		key := d[i+1 : keyEnd-1]
		i = skipSpace(d, keyEnd)
		if i >= len(d) || d[i] != ':' {
			return errScan
		}
		i = skipSpace(d, i+1)
		valEnd := valueEnd(d, i)
		if valEnd < 0 {
			return errScan
		}
		if err := member(key, d[i:valEnd]); err != nil {
			return err
		}
		i = skipSpace(d, valEnd)
		if i >= len(d) {
			return errScan
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return endOfData(d, i+1)
		default:
			return errScan
		}
	}
}

func endOfData(d []byte, i int) error {
	if skipSpace(d, i) != len(d) {
		return errScan
	}
	return nil
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at d[i] == '"', or -1.
func stringEnd(d []byte, i int) int {
	for j := i + 1; j < len(d); {
		switch d[j] {
		case '\\':
			j += 2
		case '"':
			return j + 1
		default:
			j++
		}
	}
	return -1
}

// valueEnd returns the index after the value starting at d[i], or -1.
func valueEnd(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return stringEnd(d, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d); {
			switch d[j] {
			case '"':
				j = stringEnd(d, j)
				if j < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return -1
	}
	j := i
	for j < len(d) && isScalarByte(d[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// isScalarByte: bytes of numbers and of true, false, null.
func isScalarByte(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E'
}
