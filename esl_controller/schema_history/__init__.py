"""Frozen code that schema migration steps run.

A migration step must do tomorrow exactly what it did the day it shipped, whatever the
domain code has become since: so a step never imports the domain (ads, labels, esl), it
carries a copy of the rules of its time here. tests/schema_history/ pins each copy to the
live code for as long as the two are meant to agree (the chain version, the currency
table), and to fixed vectors after that.
"""
