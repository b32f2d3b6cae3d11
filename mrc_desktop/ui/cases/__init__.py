"""The case log's screens: unlock, case list, intake, case page, agencies, audit."""
