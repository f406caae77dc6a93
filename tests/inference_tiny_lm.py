"""Tiny causal LMs built offline for the generative tests: a byte-level BPE tokenizer trained in
code and a 2-layer Llama with random (or briefly trained) weights, saved as a real HF model
directory."""

from __future__ import annotations

import json
from pathlib import Path

from inference.generative import PROMPT
from inference.schema import FIELD_NAMES

TARGET = {"vendor_name": "Globex GmbH", "vat_id": None, "iban": "DE89370400440532013000",
          "invoice_number": "INV-7", "issue_date": "2026-03-01", "due_date": None,
          "currency": "EUR", "net": "100.00", "tax": "19.00", "total": "119.00",
          "po_number": None}
DOCUMENT = "Globex GmbH\nInvoice INV-7, 1 March 2026\nTotal EUR 119.00\nIBAN DE89..."


def target_json() -> str:
    return json.dumps(TARGET)


def prompt() -> str:
    return PROMPT.format(keys=", ".join(FIELD_NAMES), text=DOCUMENT)


def build(path: Path, *, train_steps: int = 0, seed: int = 0) -> Path:
    """Write a tiny Llama to `path`; with `train_steps`, it learns to answer `prompt()` with
    `target_json()` (in full precision, before any quantization)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([prompt() + target_json()] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>",
                                   eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(path)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=1024, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if train_steps:
        # prompt and answer tokenized apart, exactly as the extractor sees them
        ids = torch.tensor([fast(prompt()).input_ids + fast(target_json()).input_ids])
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
        model.train()
        for _ in range(train_steps):
            loss = model(input_ids=ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
    model.save_pretrained(path)
    return path
