"""Chat with your documents in the browser: ``make run`` (``gpt4all_rag.ui.launch``).

Streamlit runs this script again from the top on every click, so it only calls the
page's ``main``; the views are ``gpt4all_rag.ui``. The page talks to ``gpt4all_rag``'s
public API only, and everything it shows as Markdown that it did not write itself
goes through ``gpt4all_rag.markdown``, so none of it can make the browser load an
address.
"""

from gpt4all_rag.ui.page import main

if __name__ == "__main__":  # what `streamlit run` and AppTest run; an import draws nothing
    main()
