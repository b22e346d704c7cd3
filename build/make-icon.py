#!/usr/bin/env python3
"""Draws Scion's icon (a sapling: a stem with two leaves on a rounded square) as build/icons/icon.png, 512x512, stdlib only."""
import math, struct, zlib, os

N = 512
def inside_round_rect(x, y, r=96, m=16):
    x0, y0, x1, y1 = m, m, N - m, N - m
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    return x0 <= x <= x1 and y0 <= y <= y1 and (x - cx) ** 2 + (y - cy) ** 2 <= r * r
def leaf(x, y, cx, cy, a, b, ang):
    c, s = math.cos(ang), math.sin(ang)
    dx, dy = x - cx, y - cy
    u, v = dx * c + dy * s, -dx * s + dy * c
    return (u / a) ** 2 + (v / b) ** 2 <= 1
rows = []
for y in range(N):
    row = bytearray([0])
    for x in range(N):
        px = (0, 0, 0, 0)
        if inside_round_rect(x, y):
            t = y / N
            px = (int(29 + 18 * t), int(35 + 30 * t), int(48 + 40 * t), 255)
            if abs(x - 256) <= 14 and 200 <= y <= 420: px = (120, 200, 140, 255)
            if leaf(x, y, 180, 190, 90, 42, math.radians(-30)) or leaf(x, y, 332, 150, 100, 46, math.radians(30)): px = (76, 175, 110, 255)
            if 400 <= y <= 430 and 150 <= x <= 362: px = (160, 120, 80, 255)
        row += bytes(px)
    rows.append(bytes(row))
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', N, N, 8, 6, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(b''.join(rows), 9)) + chunk(b'IEND', b'')
out = os.path.join(os.path.dirname(__file__), 'icons', 'icon.png')
open(out, 'wb').write(png)
print('wrote', out)
