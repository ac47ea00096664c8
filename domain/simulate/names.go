package simulate

// The platform's callback types (domain.md §1), spelled here rather than
// taken from package carwash so that the generator shares nothing with the
// decoder it helps to check.
const (
	finishWash          = "FINISH_WASH"
	machineUpdateInfo   = "MACHINE_UPDATE_INFO"
	machineUpdateStatus = "MACHINE_UPDATE_STATUS"
	machineError        = "MACHINE_ERROR"
	faCarChange         = "MACHINE_FA_CAR_CHANGE"
	rt2CarChange        = "MACHINE_RT2_CAR_CHANGE"
	zyParkChange        = "ZY_RT_PARK_CHANGE"
	tt1CarInto          = "MACHINE_TT1_CAR_INTO"
	tt1CarPushOut       = "MACHINE_TT1_CAR_PUSH_OUT"
	wp1CardConsumeReady = "WP1_CARD_CONSUME_READY"
	wp1StartWater       = "WP1_START_WATER"
	wp1WaitTimeout      = "WP1_WAIT_TIMEOUT"
	wp1WorkFinish       = "WP1_WORK_FINISH"
	wp1UploadTDS        = "WP1_UPLOAD_TDS"
)

// Water-purifier session statuses of the read model.
const (
	sessionReady      = "READY"
	sessionDispensing = "DISPENSING"
	sessionTimedOut   = "TIMED_OUT"
	sessionFinished   = "FINISHED"
)
