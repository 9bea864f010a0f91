"""Streamlit pages for planners (``shopsphere dashboard``): thin views over the twin's runner
and run directories (:mod:`twin.runner`, :mod:`twin.reader`); no business logic lives here."""
