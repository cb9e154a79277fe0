"""Reading photos of penalty notices: OCR, the fields, the checks against the law, the driver's deadlines."""
