"""Domains of enumeration: boxes, polytopes, all of R^d, and affine slices.

Every domain exposes, in its *enumeration coordinates* (``dim`` of them):

- ``halfspaces()`` -> ``(A, b)``, the domain as ``{t : A t <= b}`` (empty for :class:`Space`);
- ``interior_point()`` -> a strictly interior point;
- ``scale`` -> a length used to scale tolerances (half-diagonal of the bounding box);
- ``input_dim`` and ``to_input(t)``: the map from enumeration coordinates to the
  network's input (identity except for :class:`Slice`).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidDomainError

__all__ = ["Domain", "Box", "Polytope", "Space", "Slice", "as_domain"]


def _vec(x, name, err=InvalidDomainError):
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise err(f"`{name}` could not be read as an array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating)
                                   or np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise err(f"`{name}` must be a real numeric array; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise err(f"`{name}` must be finite; got {arr}.")
    return arr


def _chebyshev(A, b):
    """Chebyshev centre and radius of {A x <= b} by scipy/HiGHS (radius capped at 1e300)."""
    from scipy.optimize import linprog

    m, d = A.shape
    norms = np.linalg.norm(A, axis=1)
    c = np.zeros(d + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=np.hstack([A, norms[:, None]]), b_ub=b,
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    if res.status == 3:  # unbounded: contains arbitrarily large balls
        return None, np.inf
    if res.status != 0:
        return None, 0.0
    return res.x[:d], float(res.x[-1])


class Domain:
    """Base class of domains (see module docstring)."""

    dim: int

    @property
    def input_dim(self) -> int:
        return self.dim

    def to_input(self, t):
        return np.asarray(t, float)

    def halfspaces(self):
        raise NotImplementedError

    def interior_point(self):
        raise NotImplementedError

    @property
    def scale(self) -> float:
        return 1.0

    @property
    def bounded(self) -> bool:
        return True

    def bounds(self):
        """Bounding box ``(lo, hi)`` in enumeration coordinates (may be infinite)."""
        raise NotImplementedError

    def contains(self, t, tol=0.0):
        """Boolean mask of the rows of ``t`` inside the domain (enumeration coordinates)."""
        A, b = self.halfspaces()
        t = np.atleast_2d(np.asarray(t, float))
        if A.shape[0] == 0:
            return np.ones(t.shape[0], bool)
        return np.all(t @ A.T <= b + tol, axis=1)


class Box(Domain):
    """The axis-aligned box ``{x : lo <= x <= hi}``.

    Examples
    --------
    >>> import polyregion as pr
    >>> pr.Box([0, 0], [1, 2]).dim
    2
    >>> pr.Box.cube(3, radius=0.5).hi
    array([0.5, 0.5, 0.5])
    """

    def __init__(self, lo, hi):
        lo = _vec(lo, "lo")
        hi = _vec(hi, "hi")
        if lo.ndim != 1 or hi.ndim != 1 or lo.shape != hi.shape or lo.size == 0:
            raise InvalidDomainError(
                f"`lo` and `hi` of Box must be 1-D arrays of the same non-zero length; got "
                f"shapes {lo.shape} and {hi.shape}."
            )
        if np.any(hi <= lo):
            raise InvalidDomainError(
                "The `hi` bound of Box must be greater than `lo` in every coordinate; got "
                f"lo={lo.tolist()}, hi={hi.tolist()}."
            )
        with np.errstate(over="ignore"):
            extent = float(np.linalg.norm((hi - lo) / 2.0))
        if not np.isfinite(extent):
            raise InvalidDomainError(
                "The extent `hi - lo` of Box must be finite in floating point (below about "
                f"1e308); got lo={lo.tolist()}, hi={hi.tolist()}."
            )
        self.lo, self.hi = lo, hi
        self.dim = lo.size

    @classmethod
    def cube(cls, d: int, radius: float = 1.0, center=None) -> "Box":
        """The cube ``center + [-radius, radius]^d``."""
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
            raise InvalidDomainError(f"`d` must be a positive int; got {d!r}.")
        if isinstance(radius, (bool, str, bytes)) or not isinstance(
                radius, (int, float, np.integer, np.floating)) or not np.isfinite(radius) \
                or radius <= 0:
            raise InvalidDomainError(f"`radius` must be a finite number > 0; got {radius!r}.")
        c = np.zeros(d) if center is None else _vec(center, "center")
        if c.shape != (d,):
            raise InvalidDomainError(f"`center` must have shape ({d},); got {c.shape}.")
        return cls(c - radius, c + radius)

    def halfspaces(self):
        d = self.dim
        A = np.vstack([np.eye(d), -np.eye(d)])
        return A, np.concatenate([self.hi, -self.lo])

    def interior_point(self):
        return 0.5 * (self.lo + self.hi)

    @property
    def scale(self):
        return float(0.5 * np.linalg.norm(self.hi - self.lo))

    def bounds(self):
        return self.lo.copy(), self.hi.copy()

    def volume(self):
        return float(np.prod(self.hi - self.lo))

    def sample(self, n, rng):
        return rng.uniform(self.lo, self.hi, size=(n, self.dim))

    def __repr__(self):
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"


class Polytope(Domain):
    """The polyhedron ``{x : A x <= b}``; it must have a non-empty interior.

    Unbounded polyhedra are allowed (cells are then unbounded too).

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> tri = pr.Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    >>> tri.dim, tri.bounded
    (2, True)
    """

    def __init__(self, A, b):
        A = _vec(A, "A")
        b = _vec(b, "b")
        if A.ndim != 2 or b.ndim != 1 or A.shape[0] != b.shape[0] or A.shape[1] == 0:
            raise InvalidDomainError(
                f"Polytope needs `A` of shape (m, d) and `b` of shape (m,); got {A.shape} and "
                f"{b.shape}."
            )
        norms = np.linalg.norm(A, axis=1)
        if np.any(norms == 0):
            zero = np.flatnonzero(norms == 0)
            if np.any(b[zero] < 0):
                raise InvalidDomainError("Polytope is empty: a zero row of `A` has b < 0.")
            A, b, norms = A[norms > 0], b[norms > 0], norms[norms > 0]
        self.A, self.b = A / norms[:, None], b / norms
        self.dim = A.shape[1]
        if self.A.shape[0] == 0:
            self._center, self._radius = np.zeros(self.dim), np.inf
        else:
            self._center, self._radius = _chebyshev(self.A, self.b)
        if not self._radius > 0 or (self._center is None and not np.isinf(self._radius)):
            raise InvalidDomainError(
                "Polytope {x : A x <= b} must have a non-empty interior; the given A, b "
                "define an empty or lower-dimensional set."
            )
        lo, hi = self._bounds()
        self._lo, self._hi = lo, hi
        if np.isinf(self._radius) and self._center is None:
            self._center = self._far_interior()

    def _bounds(self):
        from scipy.optimize import linprog

        d = self.dim
        lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
        for i in range(d):
            for sgn in (1.0, -1.0):
                c = np.zeros(d)
                c[i] = sgn
                res = linprog(c, A_ub=self.A, b_ub=self.b, bounds=[(None, None)] * d,
                              method="highs")
                if res.status == 0:
                    if sgn > 0:
                        lo[i] = res.fun
                    else:
                        hi[i] = -res.fun
        return lo, hi

    def _far_interior(self):
        from scipy.optimize import linprog

        d = self.dim
        norms = np.ones(self.A.shape[0])
        c = np.zeros(d + 1)
        c[-1] = -1.0
        res = linprog(c, A_ub=np.hstack([self.A, norms[:, None]]), b_ub=self.b,
                      bounds=[(None, None)] * d + [(0, 1.0)], method="highs")
        return res.x[:d]

    def halfspaces(self):
        return self.A.copy(), self.b.copy()

    def interior_point(self):
        return self._center.copy()

    @property
    def bounded(self):
        return bool(np.all(np.isfinite(self._lo)) and np.all(np.isfinite(self._hi)))

    @property
    def scale(self):
        if not self.bounded:
            return 1.0
        return float(0.5 * np.linalg.norm(self._hi - self._lo))

    def bounds(self):
        return self._lo.copy(), self._hi.copy()

    def __repr__(self):
        return f"Polytope(m={self.A.shape[0]}, d={self.dim})"


class Space(Domain):
    """All of R^d. Regions are then (possibly unbounded) polyhedra.

    Examples
    --------
    >>> import polyregion as pr
    >>> pr.Space(3).bounded
    False
    """

    def __init__(self, d: int):
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
            raise InvalidDomainError(f"`d` of Space must be a positive int; got {d!r}.")
        self.dim = int(d)

    def halfspaces(self):
        return np.zeros((0, self.dim)), np.zeros(0)

    def interior_point(self):
        return np.zeros(self.dim)

    @property
    def bounded(self):
        return False

    def bounds(self):
        return np.full(self.dim, -np.inf), np.full(self.dim, np.inf)

    def __repr__(self):
        return f"Space({self.dim})"


class Slice(Domain):
    """A k-D affine slice ``x = origin + t @ directions`` with ``t`` in ``inner``.

    Parameters
    ----------
    origin : array_like, shape (d,)
    directions : array_like, shape (k, d)
        One direction per row; they must be linearly independent.
    inner : Domain of dimension k, optional
        Default: ``Box.cube(k)``.

    Examples
    --------
    >>> import numpy as np, polyregion as pr
    >>> s = pr.Slice(np.zeros(5), np.eye(5)[:2], pr.Box.cube(2))
    >>> s.dim, s.input_dim
    (2, 5)
    >>> s.to_input([[1.0, 2.0]]).shape
    (1, 5)
    """

    def __init__(self, origin, directions, inner=None):
        origin = _vec(origin, "origin")
        D = _vec(directions, "directions")
        if D.ndim == 1:
            D = D[None, :]
        if origin.ndim != 1 or D.ndim != 2 or D.shape[1] != origin.shape[0]:
            raise InvalidDomainError(
                f"Slice needs `origin` of shape (d,) and `directions` of shape (k, d); got "
                f"{origin.shape} and {D.shape}."
            )
        k, d = D.shape
        if k > d or np.linalg.matrix_rank(D) < k:
            raise InvalidDomainError(
                f"The {k} `directions` of Slice must be linearly independent vectors of R^{d}."
            )
        if inner is None:
            inner = Box.cube(k)
        if not isinstance(inner, Domain) or isinstance(inner, Slice):
            raise InvalidDomainError(f"`inner` must be a Box, Polytope or Space; got {inner!r}.")
        if inner.dim != k:
            raise InvalidDomainError(
                f"`inner` must have dimension {k} (the number of directions); got {inner.dim}."
            )
        self.origin, self.directions, self.inner = origin, D, inner
        self.dim = k
        self.anchors = None  # set by Slice.through: the t of the points it passes through

    @classmethod
    def through(cls, x0, x1, x2, margin: float = 0.2, orthonormal: bool = True) -> "Slice":
        """The plane through three input points (e.g. three images), for 2-D pictures.

        With ``orthonormal=True`` (default) the directions are the Gram-Schmidt
        orthonormalisation of ``x1 - x0`` and ``x2 - x0``, so that lengths and angles in
        ``t`` are those of the input space and pictures are not distorted: the points sit
        at ``t = (0, 0)``, ``(|x1 - x0|, 0)`` and ``(p, q)`` with ``q > 0``. With
        ``orthonormal=False`` the directions are ``x1 - x0`` and ``x2 - x0`` themselves and
        the points sit at ``(0, 0)``, ``(1, 0)``, ``(0, 1)``. The three positions are kept in
        :attr:`anchors` (shape (3, 2)).

        The inner domain is the bounding box of the three anchors, enlarged on every side
        by ``margin`` times the larger side of that box.

        Parameters
        ----------
        x0, x1, x2 : array_like, shape (d,)
            Three points of the input space, not collinear.
        margin : float
            Relative margin, >= 0.
        orthonormal : bool

        Raises
        ------
        InvalidDomainError
            Points of different shapes, collinear points, or a negative margin.

        Examples
        --------
        >>> import numpy as np, polyregion as pr
        >>> s = pr.Slice.through([0, 0, 0], [2, 0, 0], [0, 1, 0], margin=0.5)
        >>> s.anchors.tolist()
        [[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]
        >>> s.inner
        Box(lo=[-1.0, -1.0], hi=[3.0, 2.0])
        >>> s.to_input(s.anchors[1]).tolist()
        [2.0, 0.0, 0.0]
        """
        x0, x1, x2 = (_vec(x, n) for x, n in ((x0, "x0"), (x1, "x1"), (x2, "x2")))
        if not (x0.ndim == 1 and x0.shape == x1.shape == x2.shape):
            raise InvalidDomainError(
                "`x0`, `x1`, `x2` of Slice.through must be 1-D points of the same length; got "
                f"shapes {x0.shape}, {x1.shape}, {x2.shape}."
            )
        try:
            margin = float(margin)
        except (TypeError, ValueError):
            margin = float("nan")
        if not (np.isfinite(margin) and margin >= 0):
            raise InvalidDomainError(f"`margin` of Slice.through must be >= 0; got {margin!r}.")
        u, v = x1 - x0, x2 - x0
        nu = np.linalg.norm(u)
        w = v - (v @ u) / nu**2 * u if nu > 0 else v
        nw = np.linalg.norm(w)
        scale = max(nu, np.linalg.norm(v), 1e-300)
        if nu == 0 or nw <= 1e-12 * scale:
            raise InvalidDomainError(
                "`x0`, `x1`, `x2` of Slice.through must not be collinear (or repeated)."
            )
        if orthonormal:
            D = np.vstack([u / nu, w / nw])
            P = np.array([[0.0, 0.0], [nu, 0.0], [v @ u / nu, nw]])
        else:
            D = np.vstack([u, v])
            P = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        pad = margin * float(np.max(P.max(0) - P.min(0)))
        lo, hi = P.min(0) - pad, P.max(0) + pad
        s = cls(x0, D, Box(lo, hi))
        s.anchors = P
        return s

    def project(self, X):
        """Coordinates ``t`` of the points of the slice nearest to ``X`` (least squares).

        For a point on the slice, ``to_input(project(x)) == x``.

        Parameters
        ----------
        X : array_like, shape (n, input_dim) or (input_dim,)

        Returns
        -------
        ndarray, shape (n, dim) or (dim,)

        Examples
        --------
        >>> import polyregion as pr
        >>> s = pr.Slice.through([0, 0, 0], [2, 0, 0], [0, 1, 0])
        >>> s.project([[1.0, 1.0, 5.0]]).tolist()
        [[1.0, 1.0]]
        """
        X = _vec(X, "X")
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise InvalidDomainError(
                f"`X` must have shape (n, {self.input_dim}); got {X.shape}."
            )
        D = self.directions
        T = np.linalg.solve(D @ D.T, D @ (X - self.origin).T).T
        return T[0] if single else T

    @property
    def input_dim(self):
        return self.origin.shape[0]

    def to_input(self, t):
        t = np.asarray(t, float)
        return self.origin + t @ self.directions

    def halfspaces(self):
        return self.inner.halfspaces()

    def interior_point(self):
        return self.inner.interior_point()

    @property
    def scale(self):
        return self.inner.scale

    @property
    def bounded(self):
        return self.inner.bounded

    def bounds(self):
        return self.inner.bounds()

    def sample(self, n, rng):
        return self.inner.sample(n, rng)

    def __repr__(self):
        return f"Slice(k={self.dim}, d={self.input_dim}, inner={self.inner!r})"


def as_domain(domain, d: int) -> Domain:
    """Check that ``domain`` fits a network of input dimension ``d``."""
    if not isinstance(domain, Domain):
        raise InvalidDomainError(
            f"`domain` must be a Box, Polytope, Space or Slice; got {type(domain).__name__}."
        )
    if domain.input_dim != d:
        raise InvalidDomainError(
            f"`domain` has input dimension {domain.input_dim} but the network takes {d} inputs."
        )
    return domain
