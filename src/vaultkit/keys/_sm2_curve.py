"""Prime-field elliptic-curve arithmetic for SM2 (GM/T 0003.1-2012 clause 3, Jacobian form).

:class:`Curve` holds the domain parameters; :data:`SM2P256V1` is the recommended curve of
GM/T 0003.5-2012 (GB/T 32918.5-2017). Other curves (the test curve of the standard's examples)
only serve the known-answer tests.

:meth:`Curve.mul` is the one scalar multiplication, used for secret scalars (private keys,
signature and encryption nonces) and public ones alike. It is written to keep the secret out
of the control flow:

* the scalar is first made 257 bits long by adding ``n`` or ``2n`` (``k + n`` or ``k + 2n``,
  the same point), chosen by masks, so the number of ladder steps never depends on it;
* a Montgomery ladder (Joye and Yen, "The Montgomery Powering Ladder", CHES 2002): every bit
  costs one addition and one doubling, and the two registers are swapped by masks, not branches;
* the input point's projective coordinates are randomized (``X, Y, Z = x*l^2, y*l^3, l``).

Python integers are not constant time (their operations take time depending on the size of
the values), so this is constant-time-minded, not constant-time: it removes the gross leaks
(branches and step counts that follow the key bits), not the micro-architectural ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

__all__ = ["SM2P256V1", "Curve", "Point"]

Point = tuple[int, int]  # affine (x, y); the point at infinity is never returned
_Jacobian = tuple[int, int, int]  # (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z = 0 at infinity


@dataclass(frozen=True)
class Curve:
    """y^2 = x^3 + a*x + b over F_p, base point ``g`` of prime order ``n`` (cofactor 1)."""

    p: int
    a: int
    b: int
    n: int
    g: Point

    def on_curve(self, point: Point) -> bool:
        x, y = point
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x + self.a * x + self.b)) % p == 0

    # -- Jacobian formulas (Cohen, Miyaji, Ono 1998; general a) -----------------------------
    def _double(self, q: _Jacobian) -> _Jacobian:
        x, y, z = q
        p = self.p
        yy = y * y % p
        s = 4 * x * yy % p
        zz = z * z % p
        m = (3 * x * x + self.a * zz * zz) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * yy * yy) % p
        z3 = 2 * y * z % p
        return x3, y3, z3

    def _add(self, q1: _Jacobian, q2: _Jacobian) -> _Jacobian:
        x1, y1, z1 = q1
        x2, y2, z2 = q2
        p = self.p
        if z1 == 0:  # only reached with public inputs or with probability ~2^-256 in mul
            return q2
        if z2 == 0:
            return q1
        z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
        u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
        s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
        h, r = (u2 - u1) % p, (s2 - s1) % p
        if h == 0:  # same x: the same point (double) or opposite points (infinity)
            return self._double(q1) if r == 0 else (1, 1, 0)
        hh = h * h % p
        hhh = h * hh % p
        v = u1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - s1 * hhh) % p
        z3 = h * z1 * z2 % p
        return x3, y3, z3

    def _affine(self, q: _Jacobian) -> Point | None:
        x, y, z = q
        if z == 0:
            return None
        p = self.p
        zi = pow(z, p - 2, p)  # Fermat: a fixed exponent
        zi2 = zi * zi % p
        return x * zi2 % p, y * zi2 * zi % p

    def mul(self, k: int, point: Point) -> Point | None:
        """``k * point`` (affine), ``None`` for the point at infinity (``k`` is taken mod n)."""
        p, n = self.p, self.n
        k %= n
        # Fixed length: with 2^255 < n < 2^256, k + n or k + 2n (the same point) has exactly
        # 257 bits; pick the one whose bit 256 is set by masks, not by a branch.
        k1 = k + n
        k2 = k1 + n
        mask = ((k1 >> 256) & 1) - 1  # 0 when k1 has bit 256 set, else -1 (all bits)
        kk = (k2 & mask) | (k1 & ~mask)
        lam = 1 + secrets.randbelow(p - 1)
        x, y = point
        lam2 = lam * lam % p
        r0: _Jacobian = (x * lam2 % p, y * lam2 * lam % p, lam)  # the top bit: R0 = P
        r1 = self._double(r0)  # R1 = 2P
        for i in range(255, -1, -1):  # bit 256 is the R0 = P above
            bit = (kk >> i) & 1
            r0, r1 = _cswap(r0, r1, bit)
            r1 = self._add(r0, r1)
            r0 = self._double(r0)
            r0, r1 = _cswap(r0, r1, bit)
        return self._affine(r0)

    def add(self, p1: Point | None, p2: Point | None) -> Point | None:
        """Affine addition of public points (signature verification)."""
        j1: _Jacobian = (1, 1, 0) if p1 is None else (p1[0], p1[1], 1)
        j2: _Jacobian = (1, 1, 0) if p2 is None else (p2[0], p2[1], 1)
        return self._affine(self._add(j1, j2))


def _cswap(a: _Jacobian, b: _Jacobian, bit: int) -> tuple[_Jacobian, _Jacobian]:
    """``(b, a)`` if ``bit`` else ``(a, b)``, by masks rather than a branch."""
    mask = -bit  # 0 or -1 (all bits set)
    d0, d1, d2 = (a[0] ^ b[0]) & mask, (a[1] ^ b[1]) & mask, (a[2] ^ b[2]) & mask
    return (a[0] ^ d0, a[1] ^ d1, a[2] ^ d2), (b[0] ^ d0, b[1] ^ d1, b[2] ^ d2)


# GM/T 0003.5-2012 clause 5 / GB/T 32918.5-2017 clause 5: the recommended 256-bit curve
SM2P256V1 = Curve(
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
    g=(
        0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
        0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    ),
)
