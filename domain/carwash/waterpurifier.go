package carwash

// sessionStatus maps a water-purifier order callback to the status it reports.
var sessionStatus = map[string]string{
	WP1CardConsumeReady: SessionReady,
	WP1StartWater:       SessionDispensing,
	WP1WaitTimeout:      SessionTimedOut,
}

// applyWater handles every WP1_* callback. Per order, FINISHED is final
// once any WORK_FINISH is seen (a START_WATER however late never reopens
// it); otherwise the latest-callTime callback decides, so a resume
// (START_WATER after WAIT_TIMEOUT) shows DISPENSING again. Both rules give
// the same result in any delivery order.
func applyWater(s *DeviceState, c *Callback) {
	var wp WaterPurifier
	if s.Device.WaterPurifier != nil {
		wp = *s.Device.WaterPurifier
	}
	t := c.CallTime
	if c.CallbackType == WP1UploadTDS {
		// Each reading is the latest upload that carried it; tdsAt is the
		// latest upload's time.
		if t >= s.At.TDS {
			s.At.TDS, wp.TdsAt = t, &t
		}
		latestInt(&wp.SourceTds, &s.At.SourceTds, c.SourceTds, t)
		latestInt(&wp.CleanTds, &s.At.CleanTds, c.CleanTds, t)
		s.Device.WaterPurifier = &wp
		return
	}
	if s.WaterOrders == nil {
		s.WaterOrders = make(map[string]WaterOrder)
	}
	o := s.WaterOrders[c.OrderID]
	if c.CallbackType == WP1WorkFinish {
		if o.FinishedAt == 0 {
			wp.DispensesCompleted++
		}
		o.FinishedAt = max(o.FinishedAt, t)
		latestInt(&o.VolumeLeftMl, &o.VolumeAt, c.Volume, t)
	} else if t >= o.StatusAt {
		o.Status, o.StatusAt = sessionStatus[c.CallbackType], t
	}
	s.WaterOrders[c.OrderID] = o
	if t >= s.At.Session {
		s.At.Session, s.SessionOrder = t, c.OrderID
	}
	if s.SessionOrder == c.OrderID {
		wp.Session = o.session(c.OrderID)
	}
	s.Device.WaterPurifier = &wp
}

// session is the read-model view of the order.
func (o WaterOrder) session(orderID string) *Session {
	if o.FinishedAt > 0 {
		return &Session{OrderID: orderID, Status: SessionFinished, VolumeLeftMl: o.VolumeLeftMl, At: o.FinishedAt}
	}
	return &Session{OrderID: orderID, Status: o.Status, At: o.StatusAt}
}

// latestInt sets *dst to v when v was sent and t is at or after *at.
func latestInt(dst **int64, at *int64, v *int64, t int64) {
	if v != nil && t >= *at {
		*dst, *at = v, t
	}
}
