# Starts a thread when imported (as some monitoring libraries do).
import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
STARTED = 1
