"""The outbox: work owed after a commit (a PDF, an e-mail, a call to a partner), written as an
`Entry` in the transaction that owes it, published after the commit, done by one task that
claims it, runs its kind, and records the outcome; swept up when a publish was lost; requeued by
staff when it failed.

Nothing here knows what the work is. An app registers each of its kinds from its
`AppConfig.ready()` (`shop.outbox.kinds.register`), and owes one with `owe(kind, object_id)`
(or several, each after the one before, with `owe_in_order`; `shop.outbox.publish`). See
README's "Where does a new feature go" for a walk-through.
"""
