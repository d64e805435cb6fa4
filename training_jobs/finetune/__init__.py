"""Supervised fine-tuning with LoRA or QLoRA through trl's SFTTrainer."""
