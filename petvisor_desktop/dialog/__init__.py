"""The booking dialog: state kept in code, the language model only proposes what it heard."""
