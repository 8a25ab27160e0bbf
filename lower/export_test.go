package lower

// CheckRefModelVectors is checkRefModelVectors for the external test package (refmodel_more_test.go).
var CheckRefModelVectors = checkRefModelVectors

// ReadRefModelCalib is readRefModelCalib for the external test package: the committed amd64
// rendering of the first RefModelCalib builtin LR images (3 × RefModelLRSize²), which keeps the
// cases byte-identical on every architecture.
var ReadRefModelCalib = readRefModelCalib

const (
	RefModelCalib  = refModelCalib
	RefModelLRSize = refModelLRSize
)
