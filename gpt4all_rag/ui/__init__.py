"""The Streamlit page and its launcher."""
