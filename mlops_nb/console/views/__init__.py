"""One module per console page; Streamlit runs each as a script (`st.Page(path)`), so each ends with
`if __name__ == "__main__": render()` and stays importable for tests and type checks."""
