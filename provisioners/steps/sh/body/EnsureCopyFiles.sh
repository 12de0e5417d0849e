# The uploads (installed before this body) are the user's files.
# In: COUNT (how many).
say "$COUNT file(s) in place"
