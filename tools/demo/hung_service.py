# A small service that has hung the way real ones do, for `make demo`:
# two workers deadlocked on two locks taken in opposite orders, a request
# handler waiting for a reply that never comes, a health checker asleep
# in its retry loop, and a metrics collector that still moves.  It prints
# READY once everything is stuck.
import queue
import sys
import threading
import time

accounts_lock = threading.Lock()
ledger_lock = threading.Lock()
both_hold_one = threading.Barrier(2)
replies = queue.Queue()


class Transfer:
    def debit_then_credit(self):
        with accounts_lock:
            both_hold_one.wait()
            with ledger_lock:
                pass

    def credit_then_debit(self):
        with ledger_lock:
            both_hold_one.wait()
            with accounts_lock:
                pass


def handle_request(request_id):
    # The reply was supposed to come from a worker that is now deadlocked.
    return replies.get()


def health_check(interval):
    while True:
        time.sleep(interval)


def sample_queues():
    time.sleep(0.07)


def sample_locks():
    time.sleep(0.05)


def sample_threads():
    time.sleep(0.03)


def collect_metrics():
    while True:
        for sample in (sample_queues, sample_locks, sample_threads):
            sample()


def serve():
    transfer = Transfer()
    threads = [
        threading.Thread(target=transfer.debit_then_credit, name="transfer-1"),
        threading.Thread(target=transfer.credit_then_debit, name="transfer-2"),
        threading.Thread(target=handle_request, args=(42,), name="request-42"),
        threading.Thread(target=health_check, args=(30,), name="health", daemon=True),
        threading.Thread(target=collect_metrics, name="metrics", daemon=True),
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    print("READY", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    serve()
