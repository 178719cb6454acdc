"""kvmnull: make KVM x86's vendor hook contract testable, visible and teachable."""

__version__ = "0.1.0"
