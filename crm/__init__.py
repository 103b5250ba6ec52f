"""The core of Guichet: citizens, contact points, tickets, messages and their timeline."""
