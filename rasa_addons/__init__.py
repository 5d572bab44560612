"""Extensions loaded inside the Rasa process (Python 3.10): NLU components and the REST channel."""
